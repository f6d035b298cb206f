import QtQuick

// Recent values as thin bars, oldest on the left, scaled to the larger of the largest value and
// `floor` (so a steady few milliseconds do not fill the box). Plain items, not a Canvas: they are
// there in the first frame, which a screenshot may be.
Item {
    id: spark

    property var values: []
    property real floor: 1
    property color lineColor: Theme.accent

    readonly property int count: values ? values.length : 0
    readonly property real peak: {
        let peak = floor
        for (let i = 0; i < count; ++i)
            peak = Math.max(peak, values[i])
        return peak
    }

    implicitWidth: 110
    implicitHeight: 20

    Rectangle {
        anchors.bottom: parent.bottom
        width: parent.width
        height: 1
        color: Theme.track
    }

    Row {
        anchors.fill: parent
        spacing: spark.count > 40 ? 0 : 1

        Repeater {
            model: spark.count
            delegate: Rectangle {
                required property int index
                anchors.bottom: parent ? parent.bottom : undefined
                width: spark.count > 0 ? (spark.width - (spark.count - 1) * parent.spacing) / spark.count : 0
                height: Math.max(1, spark.height * Math.min(1, spark.values[index] / spark.peak))
                color: spark.lineColor
                opacity: index === spark.count - 1 ? 1 : 0.55
            }
        }
    }
}
