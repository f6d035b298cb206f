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
        // QtCharts lays the chart out on a posted event: wait for it before the screenshot.
        const chart = findChild(host.view, "historyChart")
        tryVerify(() => chart.plotArea.width > chart.width / 2)
        wait(0)
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

    function test_historySlidesWithNewSamples() {
        const host = createTemporaryObject(hostComponent, testCase)
        const chart = findChild(host.view, "historyChart")
        const region = fixture.monitor.region
        const original = region.history
        compare(chart.usageSeries.count, 300)
        const samples = original.slice(1)
        const last = samples[samples.length - 1]
        samples.push({ time: last.time + 1000, usage: 0.7, fragmentation: 0.4 })
        region.history = samples
        compare(chart.usageSeries.count, 300)
        compare(chart.usageSeries.at(0).x, samples[0].time)
        compare(chart.usageSeries.at(299).x, last.time + 1000)
        fuzzyCompare(chart.usageSeries.at(299).y, 70, 1e-9)
        fuzzyCompare(chart.fragmentationSeries.at(299).y, 40, 1e-9)
        // Another region's history: rebuilt.
        region.history = original.slice(0, 10)
        compare(chart.usageSeries.count, 10)
        region.history = original
        compare(chart.usageSeries.count, 300)
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
        const error = findChild(host.view, "blockMapError")
        verify(error.visible)
        compare(error.text, "Cannot read the block map: the broker is gone")
        fixture.grab(host, "region-view-map-error")
        region.blockMapError = ""
    }
}
