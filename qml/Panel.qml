import QtQuick
import QtQuick.Controls.Fusion

// A titled, bordered box, the building block of the views. Children go into the body; `tools` sit at
// the right end of the title bar.
Rectangle {
    id: panel

    property string title
    property string subtitle
    default property alias content: body.data
    property alias tools: toolRow.data

    color: Theme.surface
    border.color: Theme.border
    radius: Theme.radius

    Item {
        id: titleBar
        visible: panel.title !== ""
        height: visible ? 34 : 0
        anchors {
            left: parent.left
            right: parent.right
            top: parent.top
        }

        Label {
            id: titleLabel
            anchors {
                left: parent.left
                leftMargin: 12
                verticalCenter: parent.verticalCenter
            }
            text: panel.title
            font.bold: true
            color: Theme.text
        }
        Label {
            anchors {
                left: titleLabel.right
                leftMargin: 8
                right: toolRow.left
                rightMargin: 8
                verticalCenter: parent.verticalCenter
            }
            text: panel.subtitle
            color: Theme.textMuted
            elide: Text.ElideRight
        }
        Row {
            id: toolRow
            anchors {
                right: parent.right
                rightMargin: 6
                verticalCenter: parent.verticalCenter
            }
            spacing: 4
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
    }

    Item {
        id: body
        clip: true
        anchors {
            top: titleBar.bottom
            left: parent.left
            right: parent.right
            bottom: parent.bottom
            margins: 1
        }
    }
}
