import QtQuick
import QtQuick.Layouts
import QtQuick.Controls.Fusion
import QtQuick.Templates as T

// Resize, shrink and cleanup of the selected region. Each asks first (the controller says what will
// happen), shows progress while the broker works, then the engine's report or error. Without the
// scope for them the controls are disabled and say why.
RowLayout {
    id: bar

    required property var operations // OperationsController

    readonly property bool allowed: operations.canOperate && !operations.busy
    readonly property string sizeError: sizeField.text === "" ? "" : operations.validateSize(sizeField.text)
    property string pendingOperation
    property string pendingSize
    property bool showResult: false

    function ask(operation) {
        pendingOperation = operation
        pendingSize = operation === "resize" ? sizeField.text : ""
        confirm.text = operations.describe(operation, pendingSize)
        confirm.open()
    }

    spacing: 6

    // Disabled controls get no hover: this handler on the enabled row shows why they are disabled.
    HoverHandler {
        id: barHover
        objectName: "operationsHover"
    }
    ToolTip {
        objectName: "disabledReason"
        parent: bar
        visible: barHover.hovered && !bar.operations.canOperate && bar.operations.disabledReason !== ""
        text: qsTr("Operations unavailable: %1").arg(bar.operations.disabledReason)
        delay: 0
    }

    TextField {
        id: sizeField
        objectName: "resizeSize"
        enabled: bar.allowed
        placeholderText: qsTr("new size, e.g. 64M")
        implicitWidth: 140
        selectByMouse: true
        color: bar.sizeError !== "" ? Theme.bad : Theme.text
        ToolTip.visible: bar.sizeError !== "" && activeFocus
        ToolTip.text: bar.sizeError
        onAccepted: if (bar.sizeError === "" && text !== "") bar.ask("resize")
    }
    Button {
        objectName: "resizeButton"
        text: qsTr("Resize…")
        enabled: bar.allowed && sizeField.text !== "" && bar.sizeError === ""
        onClicked: bar.ask("resize")
    }
    Button {
        objectName: "shrinkButton"
        text: qsTr("Shrink…")
        enabled: bar.allowed
        onClicked: bar.ask("shrink")
    }
    Button {
        objectName: "cleanupButton"
        text: qsTr("Cleanup…")
        enabled: bar.allowed
        onClicked: bar.ask("cleanup")
    }
    BusyIndicator {
        implicitWidth: 26
        implicitHeight: 26
        running: bar.operations.busy
        visible: running
    }
    Label {
        id: result
        objectName: "operationResult"
        Layout.fillWidth: true
        Layout.maximumWidth: 360
        visible: bar.showResult || bar.operations.busy
        elide: Text.ElideRight
        text: bar.operations.busy ? qsTr("%1 running…").arg(bar.pendingOperation)
            : bar.operations.lastError !== "" ? bar.operations.lastError : bar.operations.lastReport
        color: bar.operations.busy ? Theme.textMuted : bar.operations.lastError !== "" ? Theme.bad : Theme.good
        HoverHandler {
            id: resultHover
        }
        ToolTip.visible: resultHover.hovered && result.truncated
        ToolTip.text: result.text
    }
    Label {
        visible: !bar.operations.canOperate
        text: qsTr("read-only")
        color: Theme.textMuted
        font.italic: true
    }

    Connections {
        target: bar.operations
        function onFinished(ok) {
            bar.showResult = true
            if (ok && bar.pendingOperation === "resize")
                sizeField.text = ""
        }
    }

    Dialog {
        id: confirm
        objectName: "operationConfirm"
        property string text
        parent: T.Overlay.overlay
        anchors.centerIn: parent
        width: Math.min(460, parent ? parent.width - 40 : 460)
        modal: true
        padding: 16
        topPadding: 8
        title: bar.pendingOperation === "resize" ? qsTr("Resize the region?")
             : bar.pendingOperation === "shrink" ? qsTr("Shrink the region?") : qsTr("Clean up the region?")
        standardButtons: Dialog.Ok | Dialog.Cancel
        Label {
            width: parent.width
            text: confirm.text
            wrapMode: Text.Wrap
        }
        onAccepted: {
            bar.showResult = false
            if (bar.pendingOperation === "resize")
                bar.operations.resize(bar.pendingSize)
            else if (bar.pendingOperation === "shrink")
                bar.operations.shrink()
            else
                bar.operations.cleanup()
        }
    }
}
