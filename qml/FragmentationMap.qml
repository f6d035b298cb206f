import QtQuick
import QtQuick.Layouts
import QtQuick.Controls.Fusion
import QtQml.Models
import Commy.Monitor
import "format.js" as Format

// The free-list fragmentation map: every block of the region to scale, free vs used, blocks a process
// still owns in that process's colour. Wheel or +/- zooms, dragging pans, hovering names the block.
Panel {
    id: panel

    required property var region

    title: qsTr("Fragmentation map")
    subtitle: mapView.blockMap
              ? qsTr("%1 blocks · %2 per pixel").arg(Format.count(mapView.blockMap.blockCount))
                    .arg(Format.bytes(Math.max(1, mapView.bytesPerPixel)))
              : ""

    tools: [
        Label {
            height: 26
            verticalAlignment: Text.AlignVCenter
            text: qsTr("zoom ×%1").arg(mapView.zoom < 10 ? mapView.zoom.toFixed(1) : Math.round(mapView.zoom))
            color: Theme.textMuted
            font.pixelSize: 11
            rightPadding: 4
        },
        ToolButton {
            objectName: "zoomOut"
            text: "−"
            implicitWidth: 28
            implicitHeight: 26
            enabled: mapView.zoom > 1
            onClicked: mapView.zoomAt(0.5, mapView.width / 2, mapView.height / 2)
            ToolTip.visible: hovered
            ToolTip.text: qsTr("Zoom out")
        },
        ToolButton {
            objectName: "zoomIn"
            text: "+"
            implicitWidth: 28
            implicitHeight: 26
            enabled: mapView.zoom < mapView.maxZoom
            onClicked: mapView.zoomAt(2, mapView.width / 2, mapView.height / 2)
            ToolTip.visible: hovered
            ToolTip.text: qsTr("Zoom in (or use the mouse wheel)")
        },
        ToolButton {
            text: qsTr("Fit")
            implicitHeight: 26
            onClicked: mapView.resetView()
        },
        ToolButton {
            text: "⟳"
            implicitWidth: 28
            implicitHeight: 26
            enabled: !panel.region.blockMapLoading
            onClicked: panel.region.refreshBlockMap()
            ToolTip.visible: hovered
            ToolTip.text: qsTr("Read the block map again (F5)")
        }
    ]

    // Owner slot -> process name, for the tooltip.
    Instantiator {
        id: owners
        model: panel.region.processes
        delegate: QtObject {
            required property var slot
            required property var pid
            required property string name
        }
    }
    function ownerText(slot) {
        if (slot < 0)
            return qsTr("none (published)")
        for (let i = 0; i < owners.count; ++i) {
            const p = owners.objectAt(i)
            if (p && Number(p.slot) === slot)
                return qsTr("slot %1 · %2 (pid %3)").arg(slot).arg(p.name).arg(p.pid)
        }
        return qsTr("slot %1").arg(slot)
    }

    ColumnLayout {
        anchors.fill: parent
        anchors.margins: 8
        spacing: 6

        Rectangle {
            Layout.fillWidth: true
            Layout.fillHeight: true
            color: Theme.mapBackground
            radius: 2

            BlockMapView {
                id: mapView
                objectName: "blockMapView"
                anchors.fill: parent
                anchors.margins: 1
                blockMap: panel.region.blockMap
                backgroundColor: Theme.mapBackground
                freeColor: Theme.mapFree
                usedColor: Theme.mapUsed

                property var hovered: ({ valid: false })

                WheelHandler {
                    acceptedDevices: PointerDevice.Mouse | PointerDevice.TouchPad
                    onWheel: event => mapView.zoomAt(Math.pow(1.0015, event.angleDelta.y), event.x, event.y)
                }
                DragHandler {
                    id: drag
                    target: null
                    property point last
                    onActiveChanged: last = centroid.position
                    onCentroidChanged: {
                        if (!active)
                            return
                        mapView.panBy(centroid.position.x - last.x, centroid.position.y - last.y)
                        last = centroid.position
                    }
                }
                HoverHandler {
                    id: mapHover
                    onPointChanged: mapView.hovered = mapView.blockAt(point.position.x, point.position.y)
                    onHoveredChanged: if (!hovered) mapView.hovered = { valid: false }
                }
                ToolTip {
                    id: blockTip
                    visible: mapHover.hovered && mapView.hovered.valid && !drag.active
                    x: Math.min(mapHover.point.position.x + 14, mapView.width - width)
                    y: Math.min(mapHover.point.position.y + 14, mapView.height - height)
                    text: mapView.hovered.valid
                          ? qsTr("offset %1 (0x%2)\nsize %3\n%4%5")
                                .arg(Format.count(mapView.hovered.offset)).arg(Number(mapView.hovered.offset).toString(16))
                                .arg(Format.bytes(mapView.hovered.size))
                                .arg(mapView.hovered.free ? qsTr("free") : qsTr("used · owner %1").arg(panel.ownerText(mapView.hovered.ownerSlot)))
                                .arg(mapView.hovered.blocksInPixel > 1 ? qsTr("\n%1 blocks share this pixel").arg(mapView.hovered.blocksInPixel) : "")
                          : ""
                }
            }

            BusyIndicator {
                anchors.centerIn: parent
                running: panel.region.blockMapLoading
                visible: running
            }
            Rectangle {
                anchors.centerIn: parent
                visible: panel.region.blockMapError !== ""
                width: Math.min(parent.width - 40, errorLabel.implicitWidth + 32)
                height: errorLabel.implicitHeight + 20
                radius: Theme.radius
                color: Theme.surface
                border.color: Theme.bad
                Label {
                    id: errorLabel
                    objectName: "blockMapError"
                    anchors.centerIn: parent
                    width: Math.min(implicitWidth, parent.width - 32)
                    elide: Text.ElideRight
                    text: qsTr("Cannot read the block map: %1").arg(panel.region.blockMapError)
                    color: Theme.bad
                }
            }
        }

        RowLayout {
            Layout.fillWidth: true
            spacing: 14
            Repeater {
                model: [
                    [Theme.mapUsed, qsTr("used (published)")],
                    [Theme.mapFree, qsTr("free")],
                    ["#e8b43a", qsTr("owned by a process (one hue per slot)")]
                ]
                delegate: RowLayout {
                    required property var modelData
                    spacing: 5
                    Rectangle {
                        implicitWidth: 12
                        implicitHeight: 12
                        radius: 2
                        color: modelData[0]
                        border.color: Theme.border
                    }
                    Label {
                        text: modelData[1]
                        color: Theme.textMuted
                        font.pixelSize: 11
                    }
                }
            }
            Item {
                Layout.fillWidth: true
            }
            Label {
                text: mapView.blockMap && mapView.blockMap.blockCount > 0
                      ? qsTr("%1 – %2 · rendered in %3 ms").arg(Format.bytes(mapView.blockMap.startOffset))
                            .arg(Format.bytes(mapView.blockMap.endOffset)).arg(mapView.renderTimeMs.toFixed(1))
                      : ""
                color: Theme.textMuted
                font.pixelSize: 11
            }
        }
    }
}
