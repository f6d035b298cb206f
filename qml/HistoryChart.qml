import QtQuick
import QtCharts

// A region's usage and fragmentation index over the last samples (RegionController.history: a list
// of {time, usage, fragmentation}), both in percent.
ChartView {
    id: chart

    property var history: []

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
        const now = Date.now()
        if (samples.length === 0) {
            timeAxis.min = new Date(now - 60000)
            timeAxis.max = new Date(now)
            return
        }
        for (let i = 0; i < samples.length; ++i) {
            const sample = samples[i]
            usageSeries.append(sample.time, sample.usage * 100)
            fragmentationSeries.append(sample.time, sample.fragmentation * 100)
        }
        const first = samples[0].time
        const last = samples[samples.length - 1].time
        timeAxis.min = new Date(first)
        timeAxis.max = new Date(Math.max(last, first + 1000))
    }

    onHistoryChanged: rebuild()
    Component.onCompleted: rebuild()
}
