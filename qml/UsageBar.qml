import QtQuick

// A thin bar filled to `value` (0..1), coloured by how full it is unless told otherwise.
Rectangle {
    id: bar

    property real value: 0
    property color fillColor: Theme.usageColor(value)

    implicitWidth: 60
    implicitHeight: 6
    radius: height / 2
    color: Theme.track

    Rectangle {
        width: Math.max(bar.value > 0 ? bar.height : 0, Math.min(1, bar.value) * bar.width)
        height: bar.height
        radius: bar.radius
        color: bar.fillColor
    }
}
