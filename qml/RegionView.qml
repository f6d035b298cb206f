import QtQuick
import QtQuick.Layouts
import QtQuick.Controls.Fusion
import "format.js" as Format

// The selected service's region: key figures, their history, the free-block histogram, the
// fragmentation map, and the operations on the region.
Item {
    id: view

    required property var monitor
    readonly property var region: monitor.region
    // The controller carries the figures as its own properties; a stand-in may group them in `stats`.
    readonly property var stats: region.stats || region

    Placeholder {
        anchors.centerIn: parent
        width: Math.min(parent.width - 40, 520)
        visible: !view.region.active
        title: qsTr("No region selected")
        detail: qsTr("Select a service in the hierarchy to see its region.")
    }

    ColumnLayout {
        anchors.fill: parent
        anchors.margins: 12
        spacing: 10
        visible: view.region.active

        RowLayout {
            Layout.fillWidth: true
            spacing: 10
            ColumnLayout {
                spacing: 0
                Label {
                    objectName: "regionTitle"
                    text: view.region.tenant + " / " + view.region.service
                    font.pixelSize: 18
                    color: Theme.text
                }
                Label {
                    text: qsTr("on %1 · generation %2").arg(view.region.brokerName).arg(Format.count(view.stats.generation))
                    color: Theme.textMuted
                    font.pixelSize: 11
                }
            }
            Item {
                Layout.fillWidth: true
            }
            OperationsBar {
                operations: view.monitor.operations
            }
        }

        RowLayout {
            Layout.fillWidth: true
            spacing: 10
            StatTile {
                Layout.fillWidth: true
                caption: qsTr("Usage")
                value: Format.percent(view.stats.usage)
                fraction: view.stats.usage || 0
                detail: qsTr("%1 used of %2").arg(Format.bytes(view.stats.used)).arg(Format.bytes(Number(view.stats.used) + Number(view.stats.free)))
            }
            StatTile {
                Layout.fillWidth: true
                caption: qsTr("Region size")
                value: Format.bytes(view.stats.size)
                fraction: Number(view.stats.limit) > 0 ? Number(view.stats.size) / Number(view.stats.limit) : -1
                barColor: Theme.accent
                detail: Number(view.stats.limit) > 0 ? qsTr("limit %1").arg(Format.bytes(view.stats.limit)) : qsTr("no limit")
            }
            StatTile {
                Layout.fillWidth: true
                caption: qsTr("Free")
                value: Format.bytes(view.stats.free)
                detail: qsTr("largest block %1").arg(Format.bytes(view.stats.largestFree))
            }
            StatTile {
                Layout.fillWidth: true
                caption: qsTr("Fragmentation index")
                value: Format.percent(view.stats.fragmentation)
                fraction: view.stats.fragmentation || 0
                valueColor: Theme.usageColor(view.stats.fragmentation || 0)
                detail: qsTr("1 − largest free / total free")
            }
            StatTile {
                Layout.fillWidth: true
                caption: qsTr("Blocks")
                value: Format.count(Number(view.stats.usedBlocks) + Number(view.stats.freeBlocks))
                detail: qsTr("%1 used · %2 free").arg(Format.count(view.stats.usedBlocks)).arg(Format.count(view.stats.freeBlocks))
            }
        }

        RowLayout {
            Layout.fillWidth: true
            Layout.preferredHeight: 220
            Layout.minimumHeight: 170
            spacing: 10

            Panel {
                Layout.fillWidth: true
                Layout.fillHeight: true
                Layout.minimumWidth: 320
                title: qsTr("History")
                subtitle: qsTr("last %1").arg(Format.plural((view.region.history || []).length, qsTr("sample"), qsTr("samples")))
                HistoryChart {
                    objectName: "historyChart"
                    anchors.fill: parent
                    history: view.region.history
                }
            }
            Panel {
                Layout.fillHeight: true
                Layout.preferredWidth: 380
                title: qsTr("Free block sizes")
                HistogramBars {
                    anchors.fill: parent
                    model: view.region.histogram
                }
            }
        }

        FragmentationMap {
            Layout.fillWidth: true
            Layout.fillHeight: true
            Layout.minimumHeight: 160
            region: view.region
        }
    }
}
