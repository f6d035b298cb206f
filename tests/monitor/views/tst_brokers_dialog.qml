import QtQuick
import QtTest
import Commy.Monitor.Views

TestCase {
    id: testCase
    name: "BrokersDialog"
    when: windowShown

    Component {
        id: hostComponent
        ViewHost {
            property alias dialog: dialog
            width: 900
            height: 600
            BrokersDialog {
                id: dialog
                monitor: fixture.monitor
            }
        }
    }

    function init() {
        failOnWarning(/.*/)
    }

    function openDialog() {
        const host = createTemporaryObject(hostComponent, testCase)
        host.dialog.open()
        tryVerify(() => host.dialog.opened)
        return host
    }

    function test_listsConnections() {
        const host = openDialog()
        const list = findChild(host.dialog.contentItem, "connectionList")
        verify(list)
        compare(list.count, 3)
        tryVerify(() => list.itemAtIndex(0) !== null)
        compare(list.itemAtIndex(0).statusText, "Connected")
        compare(list.itemAtIndex(0).rttMs, 2)
        const shot = fixture.grab(host, "brokers-dialog")
        verify(shot.colours > 10, JSON.stringify(shot))
    }

    function test_addValidatesAndSaves() {
        const host = openDialog()
        const content = host.dialog.contentItem
        mouseClick(findChild(content, "addBroker"))
        const keychain = findChild(content, "keychainMessage")
        verify(keychain.visible)
        compare(keychain.text, fixture.monitor.keychainMessage)
        verify(!findChild(content, "saveKey").enabled)
        findChild(content, "brokerName").text = "lab"
        findChild(content, "brokerUrl").text = "http://lab:7700"
        findChild(content, "brokerKey").text = "secret"
        mouseClick(findChild(content, "saveBroker"))
        compare(fixture.monitor.lastCall, "add lab http://lab:7700 secret session")
        compare(host.dialog.formError, "not a ws:// or wss:// URL: http://lab:7700")
        fixture.grab(host, "brokers-dialog-form")
        findChild(content, "brokerUrl").text = "ws://lab:7700"
        mouseClick(findChild(content, "saveBroker"))
        compare(host.dialog.formError, "")
        const list = findChild(content, "connectionList")
        compare(list.count, 4)
        fixture.monitor.removeConnection("lab")
        compare(list.count, 3)
    }
}
