import QtQuick
import QtQuick.Layouts
import QtQuick.Controls.Fusion
import QtQuick.Templates as T

// The broker connections: status and round-trip time of each, and adding, editing and removing them.
// A key is kept in the OS keychain only when asked to; without a keychain it lives for the session.
Dialog {
    id: dialog

    required property var monitor
    property string editing // the name of the connection being edited; "" when adding
    property string formError

    function startAdd() {
        editing = ""
        nameField.text = ""
        urlField.text = "ws://127.0.0.1:7700"
        keyField.text = ""
        saveKeyBox.checked = false
        formError = ""
        pages.currentIndex = 1
        nameField.forceActiveFocus()
    }
    function startEdit(name, url, keySaved) {
        editing = name
        nameField.text = name
        urlField.text = url
        keyField.text = ""
        saveKeyBox.checked = keySaved
        formError = ""
        pages.currentIndex = 1
    }
    function save() {
        const error = editing === ""
            ? monitor.addConnection(nameField.text, urlField.text, keyField.text, saveKeyBox.checked)
            : monitor.updateConnection(editing, nameField.text, urlField.text, keyField.text, saveKeyBox.checked)
        formError = error
        if (error === "")
            pages.currentIndex = 0
    }

    title: qsTr("Brokers")
    modal: true
    padding: 16
    topPadding: 8
    parent: T.Overlay.overlay
    anchors.centerIn: parent
    width: Math.min(720, parent ? parent.width - 60 : 720)
    height: Math.min(480, parent ? parent.height - 60 : 480)
    standardButtons: pages.currentIndex === 0 ? Dialog.Close : Dialog.NoButton
    onOpened: pages.currentIndex = 0

    StackLayout {
        id: pages
        anchors.fill: parent

        // The list.
        ColumnLayout {
            spacing: 8

            Rectangle {
                Layout.fillWidth: true
                Layout.fillHeight: true
                color: Theme.surface
                border.color: Theme.border
                radius: Theme.radius

                ListView {
                    id: connectionList
                    objectName: "connectionList"
                    anchors.fill: parent
                    anchors.margins: 1
                    clip: true
                    model: dialog.monitor.connections
                    currentIndex: -1
                    ScrollBar.vertical: ScrollBar {}

                    delegate: Rectangle {
                        id: connectionRow

                        required property int index
                        required property string name
                        required property string url
                        required property int status
                        required property string statusText
                        required property int rttMs
                        required property bool keySaved
                        required property var scopes

                        width: ListView.view.width
                        height: 54
                        color: ListView.isCurrentItem ? Theme.selection : index % 2 ? Theme.surfaceAlt : Theme.surface

                        TapHandler {
                            onTapped: connectionList.currentIndex = connectionRow.index
                            onDoubleTapped: dialog.startEdit(connectionRow.name, connectionRow.url, connectionRow.keySaved)
                        }

                        RowLayout {
                            anchors.fill: parent
                            anchors.leftMargin: 12
                            anchors.rightMargin: 12
                            spacing: 10
                            StatusDot {
                                color: Theme.statusColor(connectionRow.status)
                            }
                            ColumnLayout {
                                Layout.fillWidth: true
                                spacing: 1
                                RowLayout {
                                    spacing: 8
                                    Label {
                                        text: connectionRow.name
                                        font.bold: true
                                        color: Theme.text
                                    }
                                    Label {
                                        text: connectionRow.url
                                        color: Theme.textMuted
                                        font: Theme.monoFont
                                        Layout.fillWidth: true
                                        elide: Text.ElideMiddle
                                    }
                                }
                                Label {
                                    Layout.fillWidth: true
                                    text: connectionRow.statusText
                                          + (connectionRow.scopes && connectionRow.scopes.length > 0
                                             ? qsTr(" · scopes %1").arg(connectionRow.scopes.join(", ")) : "")
                                    color: Theme.statusColor(connectionRow.status) === Theme.bad ? Theme.bad : Theme.textMuted
                                    font.pixelSize: 11
                                    elide: Text.ElideRight
                                }
                            }
                            Label {
                                text: connectionRow.rttMs >= 0 ? qsTr("%1 ms").arg(connectionRow.rttMs) : "–"
                                color: Theme.textMuted
                                Layout.preferredWidth: 56
                                horizontalAlignment: Text.AlignRight
                            }
                            Label {
                                text: connectionRow.keySaved ? qsTr("key in keychain") : qsTr("key for this session")
                                color: Theme.textMuted
                                font.pixelSize: 11
                                Layout.preferredWidth: 120
                            }
                        }
                    }

                    Label {
                        anchors.centerIn: parent
                        visible: connectionList.count === 0
                        text: qsTr("No broker configured.")
                        color: Theme.textMuted
                    }
                }
            }

            RowLayout {
                Layout.fillWidth: true
                spacing: 6
                Button {
                    objectName: "addBroker"
                    text: qsTr("Add…")
                    onClicked: dialog.startAdd()
                }
                Button {
                    text: qsTr("Edit…")
                    enabled: connectionList.currentItem !== null
                    onClicked: dialog.startEdit(connectionList.currentItem.name, connectionList.currentItem.url,
                                                connectionList.currentItem.keySaved)
                }
                Button {
                    text: qsTr("Remove")
                    enabled: connectionList.currentItem !== null
                    onClicked: dialog.monitor.removeConnection(connectionList.currentItem.name)
                }
                Button {
                    text: qsTr("Reconnect")
                    enabled: connectionList.currentItem !== null
                    onClicked: dialog.monitor.reconnect(connectionList.currentItem.name)
                }
                Item {
                    Layout.fillWidth: true
                }
            }
        }

        // The form.
        ColumnLayout {
            spacing: 10

            Label {
                text: dialog.editing === "" ? qsTr("Add a broker") : qsTr("Edit “%1”").arg(dialog.editing)
                font.pixelSize: 16
                color: Theme.text
            }
            GridLayout {
                Layout.fillWidth: true
                columns: 2
                columnSpacing: 12
                rowSpacing: 8
                Label {
                    text: qsTr("Name")
                    color: Theme.text
                }
                TextField {
                    id: nameField
                    objectName: "brokerName"
                    Layout.fillWidth: true
                    placeholderText: qsTr("production")
                    selectByMouse: true
                }
                Label {
                    text: qsTr("URL")
                    color: Theme.text
                }
                TextField {
                    id: urlField
                    objectName: "brokerUrl"
                    Layout.fillWidth: true
                    placeholderText: "ws://host:port or wss://host:port"
                    selectByMouse: true
                }
                Label {
                    text: qsTr("Key")
                    color: Theme.text
                }
                TextField {
                    id: keyField
                    objectName: "brokerKey"
                    Layout.fillWidth: true
                    echoMode: TextInput.Password
                    placeholderText: dialog.editing === "" ? qsTr("API key") : qsTr("unchanged")
                    selectByMouse: true
                }
                Item {
                    width: 1
                    height: 1
                }
                CheckBox {
                    id: saveKeyBox
                    objectName: "saveKey"
                    text: qsTr("Remember the key in the keychain")
                    enabled: dialog.monitor.keychainAvailable
                }
            }
            Label {
                id: keychainNote
                objectName: "keychainMessage"
                Layout.fillWidth: true
                visible: dialog.monitor.keychainMessage !== ""
                text: dialog.monitor.keychainMessage
                color: Theme.warn
                wrapMode: Text.Wrap
            }
            Label {
                Layout.fillWidth: true
                visible: dialog.formError !== ""
                text: dialog.formError
                color: Theme.bad
                wrapMode: Text.Wrap
            }
            Item {
                Layout.fillHeight: true
            }
            RowLayout {
                Layout.fillWidth: true
                Item {
                    Layout.fillWidth: true
                }
                Button {
                    text: qsTr("Cancel")
                    onClicked: pages.currentIndex = 0
                }
                Button {
                    objectName: "saveBroker"
                    text: dialog.editing === "" ? qsTr("Add") : qsTr("Save")
                    highlighted: true
                    enabled: nameField.text !== "" && urlField.text !== ""
                    onClicked: dialog.save()
                }
            }
        }
    }
}
