import QtQuick
import QtCharts

// A region's usage and fragmentation index over the last samples (RegionController.history: a list
// of {time, usage, fragmentation}), both in percent.
ChartView {
    id: chart

    property var history: []
    property alias usageSeries: usageSeries
    property alias fragmentationSeries: fragmentationSeries

    antialiasing: true
    backgroundColor: Theme.surface
    backgroundRoundness: 0
    plotAreaColor: Theme.surface
    legend.alignment: Qt.AlignTop
    legend.labelColor: Theme.text
    legend.font.pixelSize: 11
    margins {
        top: 0
        bottom: 2
        left: 2
        right: 6
    }

    DateTimeAxis {
        id: timeAxis
        format: "HH:mm:ss"
        tickCount: 5
        labelsColor: Theme.textMuted
        labelsFont.pixelSize: 10
        gridLineColor: Theme.track
        color: Theme.border
    }
    ValueAxis {
        id: percentAxis
        min: 0
        max: 100
        tickCount: 5
        labelFormat: "%.0f%%"
        labelsColor: Theme.textMuted
        labelsFont.pixelSize: 10
        gridLineColor: Theme.track
        color: Theme.border
    }
    LineSeries {
        id: usageSeries
        name: qsTr("Usage")
        axisX: timeAxis
        axisY: percentAxis
        color: Theme.usageLine
        width: 2
    }
    LineSeries {
        id: fragmentationSeries
        name: qsTr("Fragmentation index")
        axisX: timeAxis
        axisY: percentAxis
        color: Theme.fragmentationLine
        width: 2
    }

    function rebuild() {
        usageSeries.clear()
        fragmentationSeries.clear()
        const samples = history || []
        if (samples.length === 0) {
            const now = Date.now()
            timeAxis.min = new Date(now - 60000)
            timeAxis.max = new Date(now)
            return
        }
        appendFrom(samples, 0)
    }

    function appendFrom(samples, first) {
        for (let i = first; i < samples.length; ++i) {
            const sample = samples[i]
            usageSeries.append(sample.time, sample.usage * 100)
            fragmentationSeries.append(sample.time, sample.fragmentation * 100)
        }
        const start = samples[0].time
        const end = samples[samples.length - 1].time
        timeAxis.min = new Date(start)
        timeAxis.max = new Date(Math.max(end, start + 1000))
    }

    // A new sample usually just slides the window by one: append what is new and drop what fell out,
    // rather than redrawing 300 points a second. Anything else (another region) is a rebuild.
    function update() {
        const samples = history || []
        const shown = usageSeries.count
        if (samples.length === 0 || shown === 0 || usageSeries.at(0).x > samples[0].time) {
            rebuild()
            return
        }
        const lastShown = usageSeries.at(shown - 1).x
        let first = samples.length
        while (first > 0 && samples[first - 1].time > lastShown)
            --first
        if (first === 0 || samples[first - 1].time !== lastShown) {
            rebuild()
            return
        }
        let stale = 0
        while (stale < shown && usageSeries.at(stale).x < samples[0].time)
            ++stale
        if (stale > 0) {
            usageSeries.removePoints(0, stale)
            fragmentationSeries.removePoints(0, stale)
        }
        appendFrom(samples, first)
    }

    onHistoryChanged: update()
    Component.onCompleted: rebuild()
}
