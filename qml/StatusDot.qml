import QtQuick

// A status lamp.
Rectangle {
    implicitWidth: 9
    implicitHeight: 9
    radius: width / 2
    border.width: 1
    border.color: Qt.darker(color, 1.3)
}
