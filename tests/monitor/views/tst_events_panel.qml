import QtQuick
import QtTest
import Commy.Monitor
import Commy.Monitor.Views

TestCase {
    id: testCase
    name: "EventsPanel"
    when: windowShown

    Component {
        id: hostComponent
        ViewHost {
            property alias panel: panel
            width: 1200
            height: 420
            EventsPanel {
                id: panel
                anchors.fill: parent
                anchors.margins: 10
                monitor: fixture.monitor
            }
        }
    }

    readonly property var filter: fixture.monitor.eventFilter

    function init() {
        failOnWarning(/.*/)
        filter.text = ""
        filter.kinds = 31
    }

    function test_showsEvents() {
        const host = createTemporaryObject(hostComponent, testCase)
        const list = findChild(host.panel, "eventList")
        compare(list.count, 12)
        const shot = fixture.grab(host, "events-panel")
        verify(shot.colours > 10, JSON.stringify(shot))
    }

    function test_filtersByKindAndText() {
        const host = createTemporaryObject(hostComponent, testCase)
        const list = findChild(host.panel, "eventList")
        const variables = findChild(host.panel, "kind_Variables")
        mouseClick(variables)
        verify(!filter.isKindShown(Monitor.Variable))
        compare(list.count, 8)
        mouseClick(variables)
        compare(list.count, 12)
        findChild(host.panel, "eventTextFilter").text = "dead"
        compare(filter.text, "dead")
        compare(list.count, 2)
        findChild(host.panel, "eventTextFilter").text = ""
        compare(list.count, 12)
    }

    function test_autoScrollFollowsNewEvents() {
        const host = createTemporaryObject(hostComponent, testCase)
        const list = findChild(host.panel, "eventList")
        verify(host.panel.autoScroll)
        tryVerify(() => list.atYEnd)
    }

    function test_exportOpensAFileDialog() {
        const host = createTemporaryObject(hostComponent, testCase)
        mouseClick(findChild(host.panel, "exportCsv"))
        const dialog = host.panel.exportDialog
        tryVerify(() => dialog.visible)
        dialog.reject()
        tryVerify(() => !dialog.visible)
    }

    function test_narrowPanelPutsKindsInAMenu() {
        const host = createTemporaryObject(hostComponent, testCase, { width: 700 })
        const button = findChild(host.panel, "kindMenuButton")
        verify(button.visible)
        verify(!findChild(host.panel, "kind_Variables").visible)
        const menu = findChild(host.panel, "kindMenu")
        compare(menu.count, 5)
        mouseClick(button)
        tryVerify(() => menu.opened)
        mouseClick(menu.itemAt(4)) // Errors
        verify(!filter.isKindShown(Monitor.Error))
        compare(findChild(host.panel, "eventList").count, 11)
        fixture.grab(host, "events-panel-narrow")
    }
}
