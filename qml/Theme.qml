pragma Singleton
import QtQuick

// Light and dark palettes. "system" follows the desktop: Qt 6.4 has no colour-scheme hint, so the
// lightness of the system palette's window colour decides; "light" and "dark" are the user's override.
QtObject {
    id: theme

    property string mode: "system"

    readonly property SystemPalette systemPalette: SystemPalette {
        colorGroup: SystemPalette.Active
    }
    readonly property bool systemDark: systemPalette.window.hslLightness < 0.5
    readonly property bool dark: mode === "dark" || (mode === "system" && systemDark)

    readonly property color window: dark ? "#1b1e23" : "#eef0f3"
    readonly property color surface: dark ? "#23272e" : "#ffffff"
    readonly property color surfaceAlt: dark ? "#282d34" : "#f6f7f9"
    readonly property color header: dark ? "#2c3139" : "#e8ebef"
    readonly property color button: dark ? "#323842" : "#f4f5f7"
    readonly property color border: dark ? "#3a404a" : "#d5d9df"
    readonly property color text: dark ? "#e3e6ea" : "#1d2228"
    readonly property color textMuted: dark ? "#949ca7" : "#636b76"
    readonly property color accent: dark ? "#5b9cf0" : "#2f6fdb"
    readonly property color accentText: "#ffffff"
    readonly property color selection: dark ? "#2d4566" : "#d8e5fa"
    readonly property color hover: dark ? "#2b3038" : "#f0f3f7"
    readonly property color good: dark ? "#4cc38a" : "#1e9a55"
    readonly property color warn: dark ? "#e3b04b" : "#c2850a"
    readonly property color bad: dark ? "#ee6b6b" : "#d14343"
    readonly property color idle: dark ? "#6f7782" : "#9aa1ab"
    readonly property color track: dark ? "#353b45" : "#e3e6eb"

    readonly property color mapBackground: dark ? "#15181c" : "#e9ecf0"
    readonly property color mapFree: dark ? "#3b414b" : "#c9ced6"
    readonly property color mapUsed: dark ? "#5b8dd9" : "#4a7fd0"
    readonly property color usageLine: accent
    readonly property color fragmentationLine: dark ? "#e3904b" : "#d4701c"

    readonly property int spacing: 8
    readonly property int radius: 4
    readonly property int rowHeight: 26
    readonly property font monoFont: Qt.font({ family: "DejaVu Sans Mono, monospace", pixelSize: 12 })

    // Green below 70 %, amber below 90 %, red above.
    function usageColor(usage) {
        return usage >= 0.9 ? bad : usage >= 0.7 ? warn : good
    }

    // Liveness is Monitor.Alive (0), Monitor.Stale (1), Monitor.Dead (2).
    function livenessColor(liveness) {
        return liveness === 2 ? bad : liveness === 1 ? warn : good
    }

    // ConnectionStatus in declaration order: Disconnected, Connecting, Connected,
    // AuthenticationFailed, TlsError, Reconnecting.
    function statusColor(status) {
        switch (status) {
        case 2:
            return good
        case 1:
        case 5:
            return warn
        case 3:
        case 4:
            return bad
        }
        return idle
    }

    // EventKind: Variable, Process, Operation, Connection, Error.
    function eventColor(kind) {
        switch (kind) {
        case 0:
            return accent
        case 1:
            return warn
        case 2:
            return good
        case 3:
            return idle
        case 4:
            return bad
        }
        return idle
    }
}
