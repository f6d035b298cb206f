import QtQuick
import QtQuick.Layouts
import QtQuick.Controls.Fusion
import "format.js" as Format

// Free blocks by size (FreeBlockHistogramModel: one bar per power-of-two bucket), bar height = number
// of blocks; the tooltip tells the bucket's bytes and its share of all free bytes.
Item {
    id: histogram

    required property var model // FreeBlockHistogramModel

    readonly property int bucketCount: repeater.count
    readonly property real maxCount: Math.max(1, Number(model ? model.maxCount : 0))

    HeaderCell {
        id: topLabel
        anchors {
            left: parent.left
            top: parent.top
            leftMargin: 10
            topMargin: 6
        }
        text: qsTr("%1 · %2 in all").arg(Format.plural(histogram.model.freeBlocks, qsTr("free block"), qsTr("free blocks")))
            .arg(Format.bytes(histogram.model.freeBytes))
    }

    Item {
        id: plot
        anchors {
            left: parent.left
            right: parent.right
            top: topLabel.bottom
            bottom: parent.bottom
            margins: 10
            bottomMargin: 24
        }

        Rectangle {
            anchors {
                left: parent.left
                right: parent.right
                bottom: parent.bottom
            }
            height: 1
            color: Theme.border
        }

        Row {
            id: bars
            anchors.fill: parent
            spacing: histogram.bucketCount > 24 ? 1 : 3
            readonly property real barWidth: histogram.bucketCount > 0
                ? Math.max(2, (width - spacing * (histogram.bucketCount - 1)) / histogram.bucketCount) : 0

            Repeater {
                id: repeater
                model: histogram.model

                delegate: Item {
                    id: bucket

                    required property int index
                    required property var bucketLow
                    required property var bucketHigh
                    required property var count
                    required property var bytes
                    required property var fraction

                    width: bars.barWidth
                    height: bars.height

                    Rectangle {
                        anchors.bottom: parent.bottom
                        width: parent.width
                        height: Number(bucket.count) > 0
                            ? Math.max(2, parent.height * Number(bucket.count) / histogram.maxCount) : 0
                        radius: 1
                        color: barHover.hovered ? Qt.lighter(Theme.mapFree, 1.25) : Theme.accent
                        opacity: 0.85
                    }
                    HoverHandler {
                        id: barHover
                    }
                    ToolTip.visible: barHover.hovered
                    ToolTip.text: qsTr("%1 – %2\n%3 block(s), %4 (%5 of free bytes)")
                        .arg(Format.bytes(bucket.bucketLow)).arg(Format.bytes(bucket.bucketHigh))
                        .arg(Format.count(bucket.count)).arg(Format.bytes(bucket.bytes)).arg(Format.percent(bucket.fraction))

                    Label {
                        readonly property int every: Math.ceil(histogram.bucketCount / Math.max(1, bars.width / 46))
                        visible: bucket.index % every === 0
                        anchors {
                            top: parent.bottom
                            topMargin: 4
                            left: parent.left
                        }
                        text: Format.bytes(bucket.bucketLow).replace(".0 ", " ")
                        color: Theme.textMuted
                        font.pixelSize: 9
                    }
                }
            }
        }
    }

    Label {
        anchors.centerIn: parent
        visible: histogram.bucketCount === 0
        text: qsTr("No free blocks")
        color: Theme.textMuted
    }
}
