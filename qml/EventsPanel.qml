import QtQuick
import QtQuick.Layouts
import QtQuick.Controls.Fusion
import QtQuick.Dialogs
import QtQml.Models
import Commy.Monitor
import "format.js" as Format

// Variable changes, process events, operations, connection changes and errors, newest at the bottom;
// filtered by kind and text, exported to CSV as shown.
Panel {
    id: panel

    required property var monitor
    readonly property var filter: monitor.eventFilter
    property alias autoScroll: autoScrollBox.checked
    property alias list: eventList
    property alias exportDialog: exportDialog
    property string exportMessage
    readonly property bool wide: width >= 1060
    readonly property int sourceWidth: Math.max(140, Math.min(240, width * 0.26))

    // Indexed by EventKind.
    readonly property var kinds: [
        { kind: Monitor.Variable, label: qsTr("Variables"), name: qsTr("Variable") },
        { kind: Monitor.Process, label: qsTr("Processes"), name: qsTr("Process") },
        { kind: Monitor.Operation, label: qsTr("Operations"), name: qsTr("Operation") },
        { kind: Monitor.Connection, label: qsTr("Connections"), name: qsTr("Connection") },
        { kind: Monitor.Error, label: qsTr("Errors"), name: qsTr("Error") }
    ]

    title: qsTr("Events")
    subtitle: qsTr("%1 of %2").arg(eventList.count).arg(monitor.events.count)
    tools: [
        // The kinds as check boxes when there is room, else in a menu.
        ToolButton {
            objectName: "kindMenuButton"
            visible: !panel.wide
            text: qsTr("Kinds ▾")
            font.pixelSize: 11
            implicitHeight: 26
            onClicked: kindMenu.popup()
            Menu {
                id: kindMenu
                objectName: "kindMenu"
            }
            Instantiator {
                model: panel.kinds
                delegate: MenuItem {
                    required property var modelData
                    text: modelData.label
                    checkable: true
                    checked: (panel.filter.kinds & (1 << modelData.kind)) !== 0
                    onToggled: panel.filter.setKindShown(modelData.kind, checked)
                }
                onObjectAdded: (index, object) => kindMenu.insertItem(index, object)
                onObjectRemoved: (index, object) => kindMenu.removeItem(object)
            }
        },
        Row {
            visible: panel.wide
            spacing: 0
            Repeater {
                model: panel.kinds
                delegate: CheckBox {
                    required property var modelData
                    objectName: "kind_" + modelData.label
                    text: modelData.label
                    font.pixelSize: 11
                    implicitHeight: 26
                    checked: (panel.filter.kinds & (1 << modelData.kind)) !== 0
                    onToggled: panel.filter.setKindShown(modelData.kind, checked)
                }
            }
        },
        TextField {
            id: textFilter
            objectName: "eventTextFilter"
            width: panel.wide ? 180 : 130
            implicitHeight: 26
            font.pixelSize: 11
            placeholderText: qsTr("Filter text")
            selectByMouse: true
            text: panel.filter.text
            onTextChanged: panel.filter.text = text
        },
        CheckBox {
            id: autoScrollBox
            text: qsTr("Auto-scroll")
            font.pixelSize: 11
            implicitHeight: 26
            checked: true
        },
        ToolButton {
            text: qsTr("Clear")
            font.pixelSize: 11
            implicitHeight: 26
            onClicked: panel.monitor.events.clear()
        },
        ToolButton {
            objectName: "exportCsv"
            text: qsTr("Export CSV…")
            font.pixelSize: 11
            implicitHeight: 26
            onClicked: exportDialog.open()
        }
    ]

    ColumnLayout {
        anchors.fill: parent
        spacing: 0

        Rectangle {
            Layout.fillWidth: true
            implicitHeight: 24
            color: Theme.header
            RowLayout {
                anchors.fill: parent
                anchors.leftMargin: 10
                anchors.rightMargin: 10
                spacing: 10
                HeaderCell {
                    text: qsTr("Time")
                    Layout.preferredWidth: 90
                }
                HeaderCell {
                    text: qsTr("Kind")
                    Layout.preferredWidth: 84
                }
                HeaderCell {
                    text: qsTr("Source")
                    Layout.preferredWidth: panel.sourceWidth
                }
                HeaderCell {
                    text: qsTr("Event")
                    Layout.fillWidth: true
                }
            }
        }

        ListView {
            id: eventList
            objectName: "eventList"
            Layout.fillWidth: true
            Layout.fillHeight: true
            clip: true
            model: panel.filter
            boundsBehavior: Flickable.StopAtBounds
            ScrollBar.vertical: ScrollBar {}

            onCountChanged: if (panel.autoScroll) Qt.callLater(positionViewAtEnd)
            onHeightChanged: if (panel.autoScroll) Qt.callLater(positionViewAtEnd)
            onVisibleChanged: if (visible && panel.autoScroll) Qt.callLater(positionViewAtEnd)
            Component.onCompleted: positionViewAtEnd()

            delegate: Rectangle {
                id: eventRow

                required property int index
                required property var time
                required property int eventKind
                required property string source
                required property string text
                readonly property color kindColor: Theme.eventColor(eventKind)

                width: ListView.view.width
                height: 22
                color: eventKind === Monitor.Error ? Qt.rgba(kindColor.r, kindColor.g, kindColor.b, 0.1)
                                                   : index % 2 ? Theme.surfaceAlt : Theme.surface

                RowLayout {
                    anchors.fill: parent
                    anchors.leftMargin: 10
                    anchors.rightMargin: 10
                    spacing: 10
                    Label {
                        text: Qt.formatDateTime(eventRow.time, "HH:mm:ss.zzz")
                        Layout.preferredWidth: 90
                        font: Theme.monoFont
                        color: Theme.textMuted
                    }
                    Row {
                        Layout.preferredWidth: 84
                        spacing: 5
                        Rectangle {
                            anchors.verticalCenter: parent.verticalCenter
                            width: 7
                            height: 7
                            radius: 3.5
                            color: eventRow.kindColor
                        }
                        Label {
                            text: panel.kinds[eventRow.eventKind] ? panel.kinds[eventRow.eventKind].name : ""
                            color: eventRow.kindColor
                            font.pixelSize: 11
                        }
                    }
                    Label {
                        text: eventRow.source
                        Layout.preferredWidth: panel.sourceWidth
                        elide: Text.ElideMiddle
                        color: Theme.text
                        font.pixelSize: 12
                    }
                    Label {
                        text: eventRow.text
                        Layout.fillWidth: true
                        elide: Text.ElideRight
                        color: eventRow.eventKind === Monitor.Error ? Theme.bad : Theme.text
                        font.pixelSize: 12
                    }
                }
            }
        }
        Label {
            Layout.fillWidth: true
            Layout.margins: 4
            Layout.leftMargin: 10
            visible: panel.exportMessage !== ""
            text: panel.exportMessage
            color: Theme.textMuted
            font.pixelSize: 11
            elide: Text.ElideRight
        }
    }

    FileDialog {
        id: exportDialog
        title: qsTr("Export events to CSV")
        fileMode: FileDialog.SaveFile
        defaultSuffix: "csv"
        nameFilters: [qsTr("CSV files (*.csv)"), qsTr("All files (*)")]
        onAccepted: {
            if (panel.filter.exportCsv(selectedFile))
                panel.exportMessage = qsTr("Exported %1 to %2").arg(Format.plural(eventList.count, qsTr("event"), qsTr("events"))).arg(selectedFile)
            else
                panel.exportMessage = qsTr("Export failed: %1").arg(panel.filter.errorString)
        }
    }
}
