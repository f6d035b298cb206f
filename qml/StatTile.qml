import QtQuick
import QtQuick.Layouts
import QtQuick.Controls.Fusion

// One key figure: a caption, the value large, a detail line, and optionally a bar for a fraction.
Rectangle {
    id: tile

    property string caption
    property string value
    property string detail
    property real fraction: -1 // < 0: no bar
    property color barColor: Theme.usageColor(fraction)
    property color valueColor: Theme.text

    implicitWidth: 170
    implicitHeight: 84
    color: Theme.surface
    border.color: Theme.border
    radius: Theme.radius

    ColumnLayout {
        anchors {
            fill: parent
            margins: 10
            leftMargin: 12
            rightMargin: 12
        }
        spacing: 2

        Label {
            text: tile.caption.toUpperCase()
            color: Theme.textMuted
            font.pixelSize: 10
            font.letterSpacing: 0.6
            font.bold: true
            Layout.fillWidth: true
            elide: Text.ElideRight
        }
        Label {
            text: tile.value
            color: tile.valueColor
            font.pixelSize: 22
            Layout.fillWidth: true
            elide: Text.ElideRight
        }
        UsageBar {
            visible: tile.fraction >= 0
            value: Math.max(0, tile.fraction)
            fillColor: tile.barColor
            Layout.fillWidth: true
        }
        Label {
            text: tile.detail
            visible: text !== ""
            color: Theme.textMuted
            font.pixelSize: 11
            Layout.fillWidth: true
            elide: Text.ElideRight
        }
        Item {
            Layout.fillHeight: true
        }
    }
}
