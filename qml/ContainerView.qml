import QtQuick
import QtQuick.Layouts
import QtQuick.Controls.Fusion
import "format.js" as Format

// The selected root: kind, type, element count and version, its decoded elements (read page by page
// as the list scrolls; rows read at an older version are dimmed until their fresh read arrives), and
// the selected element's value as text or hex.
Item {
    id: view

    required property var monitor
    readonly property var container: monitor.container
    readonly property var elements: container.elements
    property int currentRow: -1
    property string currentValue
    property string currentKey
    // Maps ("hashmap", ...) have a key column.
    readonly property bool keyed: /map/i.test(container.kind)

    Placeholder {
        anchors.centerIn: parent
        width: Math.min(parent.width - 40, 520)
        visible: !view.container.active
        title: qsTr("No root selected")
        detail: qsTr("Select a root (a shared container) under a service in the hierarchy to browse its elements.")
    }

    Connections {
        target: view.elements
        function onModelReset() {
            view.currentRow = -1
            view.currentValue = ""
            view.currentKey = ""
        }
    }

    ColumnLayout {
        anchors.fill: parent
        anchors.margins: 12
        spacing: 10
        visible: view.container.active

        RowLayout {
            Layout.fillWidth: true
            spacing: 10
            ColumnLayout {
                spacing: 0
                Label {
                    objectName: "containerTitle"
                    text: view.container.root
                    font.pixelSize: 18
                    color: Theme.text
                }
                Label {
                    text: view.monitor.selectedPath ? view.monitor.selectedPath.slice(0, 3).join(" / ") : ""
                    color: Theme.textMuted
                    font.pixelSize: 11
                }
            }
            Item {
                Layout.fillWidth: true
            }
            Repeater {
                model: [
                    [qsTr("Kind"), view.container.kind],
                    [qsTr("Type"), view.container.type],
                    [qsTr("Elements"), Format.count(view.container.length)],
                    [qsTr("Version"), Format.count(view.container.version)]
                ]
                delegate: Rectangle {
                    required property var modelData
                    implicitWidth: factColumn.implicitWidth + 24
                    implicitHeight: factColumn.implicitHeight + 12
                    color: Theme.surface
                    border.color: Theme.border
                    radius: Theme.radius
                    ColumnLayout {
                        id: factColumn
                        anchors.centerIn: parent
                        spacing: 0
                        Label {
                            text: modelData[0].toUpperCase()
                            font.pixelSize: 10
                            font.bold: true
                            color: Theme.textMuted
                        }
                        Label {
                            text: modelData[1]
                            font: Theme.monoFont
                            color: Theme.text
                        }
                    }
                }
            }
        }

        SplitView {
            Layout.fillWidth: true
            Layout.fillHeight: true
            orientation: Qt.Horizontal

            Panel {
                SplitView.fillWidth: true
                SplitView.minimumWidth: 300
                title: qsTr("Elements")
                subtitle: view.elements.loading ? qsTr("loading…")
                        : qsTr("%1 of %2 loaded").arg(Format.count(elementList.count)).arg(Format.count(view.elements.length))

                ColumnLayout {
                    anchors.fill: parent
                    spacing: 0

                    Rectangle {
                        Layout.fillWidth: true
                        implicitHeight: 28
                        color: Theme.header
                        RowLayout {
                            anchors.fill: parent
                            anchors.leftMargin: 10
                            anchors.rightMargin: 10
                            spacing: 12
                            HeaderCell {
                                text: "#"
                                Layout.preferredWidth: 64
                                horizontalAlignment: Text.AlignRight
                            }
                            HeaderCell {
                                visible: view.keyed
                                text: qsTr("Key")
                                Layout.preferredWidth: 180
                            }
                            HeaderCell {
                                text: qsTr("Value")
                                Layout.fillWidth: true
                            }
                        }
                    }

                    ListView {
                        id: elementList
                        objectName: "elementList"
                        Layout.fillWidth: true
                        Layout.fillHeight: true
                        clip: true
                        model: view.elements
                        boundsBehavior: Flickable.StopAtBounds
                        reuseItems: true
                        ScrollBar.vertical: ScrollBar {}

                        delegate: Rectangle {
                            id: elementRow

                            required property int index
                            required property var elementIndex
                            required property bool hasKey
                            required property string key
                            required property string value
                            required property bool stale
                            readonly property bool current: view.currentRow === index

                            width: ListView.view.width
                            height: 26
                            color: current ? Theme.selection : index % 2 ? Theme.surfaceAlt : Theme.surface

                            TapHandler {
                                onTapped: {
                                    view.currentRow = elementRow.index
                                    view.currentKey = elementRow.key
                                    view.currentValue = elementRow.value
                                }
                            }
                            onValueChanged: if (current) view.currentValue = value

                            RowLayout {
                                anchors.fill: parent
                                anchors.leftMargin: 10
                                anchors.rightMargin: 10
                                spacing: 12
                                opacity: elementRow.stale ? 0.5 : 1
                                Label {
                                    text: elementRow.elementIndex
                                    Layout.preferredWidth: 64
                                    horizontalAlignment: Text.AlignRight
                                    color: Theme.textMuted
                                    font: Theme.monoFont
                                }
                                Label {
                                    visible: view.keyed
                                    text: elementRow.key
                                    Layout.preferredWidth: 180
                                    elide: Text.ElideRight
                                    color: Theme.accent
                                    font: Theme.monoFont
                                }
                                Label {
                                    text: elementRow.value
                                    Layout.fillWidth: true
                                    elide: Text.ElideRight
                                    color: Theme.text
                                    font: Theme.monoFont
                                    maximumLineCount: 1
                                }
                            }
                        }
                    }
                    Label {
                        Layout.fillWidth: true
                        Layout.margins: 8
                        visible: view.elements.errorString !== ""
                        text: qsTr("Cannot read elements: %1").arg(view.elements.errorString)
                        color: Theme.bad
                        wrapMode: Text.Wrap
                    }
                }
            }

            Panel {
                SplitView.preferredWidth: 460
                SplitView.minimumWidth: 240
                title: qsTr("Value")
                subtitle: view.currentRow < 0 ? qsTr("select an element")
                        : view.keyed ? qsTr("key %1").arg(view.currentKey) : qsTr("element %1").arg(view.currentRow)
                tools: [
                    TabBar {
                        id: mode
                        objectName: "valueMode"
                        width: 120
                        TabButton {
                            text: qsTr("Text")
                        }
                        TabButton {
                            text: qsTr("Hex")
                        }
                    }
                ]

                ScrollView {
                    anchors.fill: parent
                    anchors.margins: 4
                    TextArea {
                        id: valueText
                        objectName: "valueText"
                        readOnly: true
                        selectByMouse: true
                        wrapMode: mode.currentIndex === 0 ? TextEdit.Wrap : TextEdit.NoWrap
                        font: Theme.monoFont
                        color: Theme.text
                        background: null
                        text: mode.currentIndex === 0 ? view.currentValue : view.container.hexOf(view.currentValue)
                    }
                }
            }
        }
    }
}
