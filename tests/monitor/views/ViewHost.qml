import QtQuick
import QtQuick.Controls.Fusion
import Commy.Monitor.Views

// A window with the monitor's palette, for rendering one view the way Main.qml shows it.
ApplicationWindow {
    width: 1280
    height: 780
    visible: true
    color: Theme.window

    palette {
        window: Theme.window
        windowText: Theme.text
        base: Theme.surface
        alternateBase: Theme.surfaceAlt
        text: Theme.text
        button: Theme.button
        buttonText: Theme.text
        brightText: Theme.accentText
        highlight: Theme.accent
        highlightedText: Theme.accentText
        placeholderText: Theme.textMuted
        toolTipBase: Theme.surface
        toolTipText: Theme.text
        mid: Theme.border
        link: Theme.accent
    }
}
