import QtQuick
import QtTest
import Commy.Monitor.Views

TestCase {
    id: testCase
    name: "ContainerView"
    when: windowShown

    Component {
        id: hostComponent
        ViewHost {
            property alias view: view
            ContainerView {
                id: view
                anchors.fill: parent
                monitor: fixture.monitor
            }
        }
    }

    readonly property var container: fixture.monitor.container

    function init() {
        failOnWarning(/.*/)
    }

    function test_elementsLoadLazily() {
        const host = createTemporaryObject(hostComponent, testCase)
        const list = findChild(host.view, "elementList")
        tryVerify(() => list.count > 0)
        // Only what the list shows (and a little ahead) is read, not the 5000 elements.
        verify(list.count < 500, list.count)
        const fetched = container.fetches
        verify(fetched < 10, fetched)
        compare(findChild(host.view, "containerTitle").text, "prices")
        list.positionViewAtEnd()
        tryVerify(() => container.fetches > fetched)
        verify(list.count > 50)
    }

    function test_valueViewerTextAndHex() {
        const host = createTemporaryObject(hostComponent, testCase)
        const list = findChild(host.view, "elementList")
        tryVerify(() => list.count > 3 && list.itemAtIndex(3) !== null)
        mouseClick(list.itemAtIndex(3))
        compare(host.view.currentRow, 3)
        const value = findChild(host.view, "valueText")
        compare(value.text, "100.75")
        findChild(host.view, "valueMode").currentIndex = 1
        compare(value.text, container.hexOf("100.75"))
        verify(value.text.startsWith("00000000  31 30 30"))
        findChild(host.view, "valueMode").currentIndex = 0
        const shot = fixture.grab(host, "container-view")
        verify(shot.colours > 10, JSON.stringify(shot))
    }

    function test_inactiveShowsAPlaceholder() {
        const host = createTemporaryObject(hostComponent, testCase)
        container.active = false
        verify(!findChild(host.view, "containerTitle").visible)
        fixture.grab(host, "container-view-inactive")
        container.active = true
        verify(findChild(host.view, "containerTitle").visible)
    }
}
