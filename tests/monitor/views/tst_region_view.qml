import QtQuick
import QtTest
import Commy.Monitor.Views

TestCase {
    id: testCase
    name: "RegionView"
    when: windowShown

    Component {
        id: hostComponent
        ViewHost {
            property alias view: view
            RegionView {
                id: view
                anchors.fill: parent
                monitor: fixture.monitor
            }
        }
    }

    function init() {
        failOnWarning(/.*/)
    }

    function test_showsFiguresMapAndHistogram() {
        const host = createTemporaryObject(hostComponent, testCase)
        compare(findChild(host.view, "regionTitle").text, "acme / orders")
        const map = findChild(host.view, "blockMapView")
        verify(map)
        verify(map.blockMap.blockCount > 1000)
        tryVerify(() => map.renderTimeMs > 0)
        const shot = fixture.grab(host, "region-view")
        verify(shot.colours > 50, JSON.stringify(shot))
    }

    function test_zoomPanAndHover() {
        const host = createTemporaryObject(hostComponent, testCase)
        const map = findChild(host.view, "blockMapView")
        compare(map.zoom, 1)
        mouseClick(findChild(host.view, "zoomIn"))
        compare(map.zoom, 2)
        mouseWheel(map, map.width / 2, map.height / 2, 0, 480)
        verify(map.zoom > 2)
        mouseClick(findChild(host.view, "zoomOut"))
        const before = map.viewOffset
        mouseDrag(map, map.width / 2, map.height / 2, -200, 0)
        verify(map.viewOffset !== before)
        mouseMove(map, 20, 10)
        tryVerify(() => map.hovered.valid)
        verify(map.hovered.size > 0)
        map.resetView()
        compare(map.zoom, 1)
    }

    function test_refreshAndInactive() {
        const host = createTemporaryObject(hostComponent, testCase)
        const region = fixture.monitor.region
        const before = region.refreshCount
        region.refreshBlockMap()
        compare(region.refreshCount, before + 1)
        region.active = false
        fixture.grab(host, "region-view-inactive")
        region.active = true
        region.blockMapError = "the broker is gone"
        fixture.grab(host, "region-view-map-error")
        region.blockMapError = ""
    }
}
