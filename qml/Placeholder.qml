import QtQuick
import QtQuick.Layouts
import QtQuick.Controls.Fusion

// What a view shows when it has nothing to show yet, and why.
ColumnLayout {
    property string title
    property string detail

    spacing: 6

    Label {
        text: parent.title
        color: Theme.textMuted
        font.pixelSize: 16
        horizontalAlignment: Text.AlignHCenter
        Layout.fillWidth: true
        wrapMode: Text.Wrap
    }
    Label {
        text: parent.detail
        visible: text !== ""
        color: Theme.textMuted
        horizontalAlignment: Text.AlignHCenter
        Layout.fillWidth: true
        wrapMode: Text.Wrap
    }
}
