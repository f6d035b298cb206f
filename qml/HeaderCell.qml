import QtQuick
import QtQuick.Controls.Fusion

// A column title of the views' tables.
Label {
    color: Theme.textMuted
    font.pixelSize: 11
    font.bold: true
    elide: Text.ElideRight
    verticalAlignment: Text.AlignVCenter
}
