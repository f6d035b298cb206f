import QtQuick
import QtQuick.Layouts
import QtQuick.Controls.Fusion
import QtQml.Models
import Qt.labs.settings
import Commy.Monitor
import "format.js" as Format

// The monitor's window: brokers' status and the view switcher on top, the hierarchy on the left, the
// selected view in the centre, events at the bottom.
ApplicationWindow {
    id: window

    required property var monitor
    // "overview", "region", "heartbeats", "container", "events"; "brokers" opens the brokers dialog.
    property string currentView: "overview"
    readonly property var views: [
        { key: "overview", title: qsTr("Overview") },
        { key: "region", title: qsTr("Region") },
        { key: "heartbeats", title: qsTr("Heartbeats") },
        { key: "container", title: qsTr("Container") },
        { key: "events", title: qsTr("Events") }
    ]
    readonly property int viewIndex: Math.max(0, views.findIndex(v => v.key === currentView))
    property string lastView: "overview"
    property alias hierarchyPane: hierarchyPane
    property alias brokersDialog: brokersDialog

    function showView(key) {
        if (key === "brokers") {
            brokersDialog.open()
            return
        }
        currentView = key
    }

    width: 1440
    height: 900
    minimumWidth: 960
    minimumHeight: 600
    visible: true
    title: monitor.selectedTitle ? qsTr("%1 — Commy Monitor").arg(monitor.selectedTitle) : qsTr("Commy Monitor")
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
        light: Theme.dark ? "#3a404a" : "#ffffff"
        midlight: Theme.dark ? "#323842" : "#f0f2f5"
        mid: Theme.border
        dark: Theme.dark ? "#16191d" : "#b8bec7"
        shadow: Theme.dark ? "#0b0c0e" : "#8c939d"
        link: Theme.accent
    }

    onCurrentViewChanged: {
        if (currentView === "brokers") {
            brokersDialog.open()
            currentView = lastView
            return
        }
        lastView = currentView
    }

    // Selecting opens the view that fits the node: a region for a service, the browser for a root.
    Connections {
        target: window.monitor
        function onSelectedPathChanged() {
            const type = window.monitor.selectedType
            if (type === Monitor.Service && window.currentView !== "heartbeats")
                window.currentView = "region"
            else if (type === Monitor.Root)
                window.currentView = "container"
            else if ((type === Monitor.Broker || type === Monitor.Tenant)
                     && (window.currentView === "region" || window.currentView === "container"))
                window.currentView = "overview"
        }
    }

    Settings {
        id: settings
        category: "MainWindow"
        property alias x: window.x
        property alias y: window.y
        property alias width: window.width
        property alias height: window.height
        property string theme: "system"
        property var split
        property var centreSplit
    }
    Component.onCompleted: {
        Theme.mode = settings.theme
        if (settings.split)
            mainSplit.restoreState(settings.split)
        if (settings.centreSplit)
            centreSplit.restoreState(settings.centreSplit)
    }
    Component.onDestruction: {
        settings.split = mainSplit.saveState()
        settings.centreSplit = centreSplit.saveState()
    }

    Shortcut {
        sequence: StandardKey.Find
        onActivated: hierarchyPane.focusFilter()
    }
    Repeater {
        model: window.views
        delegate: Item {
            required property int index
            required property var modelData
            Shortcut {
                sequence: "Ctrl+" + (index + 1)
                onActivated: window.currentView = modelData.key
            }
        }
    }
    Shortcut {
        sequence: "Ctrl+B"
        onActivated: brokersDialog.open()
    }
    Shortcut {
        sequence: "F5"
        onActivated: if (window.monitor.region.active) window.monitor.region.refreshBlockMap()
    }
    Shortcut {
        sequence: "Ctrl+Q"
        onActivated: Qt.quit()
    }

    // The connections as objects, for the status summary.
    Instantiator {
        id: connectionObjects
        model: window.monitor.connections
        delegate: QtObject {
            required property string name
            required property int status
            required property string statusText
            required property int rttMs
        }
    }

    header: ToolBar {
        padding: 6
        leftPadding: 12
        rightPadding: 8
        background: Rectangle {
            color: Theme.surface
            Rectangle {
                anchors.bottom: parent.bottom
                width: parent.width
                height: 1
                color: Theme.border
            }
        }

        RowLayout {
            anchors.fill: parent
            spacing: 10

            Label {
                text: qsTr("Commy Monitor")
                font.pixelSize: 15
                font.bold: true
                color: Theme.text
            }
            ToolSeparator {}

            Row {
                spacing: 2
                Repeater {
                    model: window.views
                    delegate: ToolButton {
                        required property int index
                        required property var modelData
                        objectName: "viewButton_" + modelData.key
                        text: modelData.title
                        checkable: true
                        checked: window.currentView === modelData.key
                        onClicked: window.currentView = modelData.key
                        ToolTip.visible: hovered
                        ToolTip.delay: 600
                        ToolTip.text: qsTr("Ctrl+%1").arg(index + 1)
                    }
                }
            }

            Item {
                Layout.fillWidth: true
            }

            // One chip per broker: status lamp, name, round-trip time; the tooltip says the status.
            Row {
                objectName: "brokerSummary"
                spacing: 6
                Repeater {
                    model: window.monitor.connections
                    delegate: Rectangle {
                        id: chip
                        required property string name
                        required property int status
                        required property string statusText
                        required property int rttMs
                        width: chipRow.implicitWidth + 16
                        height: 26
                        radius: 13
                        color: Theme.surfaceAlt
                        border.color: Theme.border
                        Row {
                            id: chipRow
                            anchors.centerIn: parent
                            spacing: 6
                            StatusDot {
                                anchors.verticalCenter: parent.verticalCenter
                                color: Theme.statusColor(chip.status)
                            }
                            Label {
                                text: chip.name
                                color: Theme.text
                                font.pixelSize: 12
                            }
                            Label {
                                text: chip.rttMs >= 0 ? qsTr("%1 ms").arg(chip.rttMs) : chip.statusText
                                color: Theme.textMuted
                                font.pixelSize: 11
                            }
                        }
                        HoverHandler {
                            id: chipHover
                        }
                        TapHandler {
                            onTapped: brokersDialog.open()
                        }
                        ToolTip.visible: chipHover.hovered
                        ToolTip.text: chip.name + ": " + chip.statusText
                    }
                }
            }
            ToolButton {
                objectName: "brokersButton"
                text: qsTr("Brokers…")
                onClicked: brokersDialog.open()
                ToolTip.visible: hovered
                ToolTip.delay: 600
                ToolTip.text: qsTr("Add, edit or remove broker connections (Ctrl+B)")
            }
            ToolButton {
                objectName: "themeToggle"
                text: Theme.dark ? "☀" : "☾"
                font.pixelSize: 16
                onClicked: {
                    Theme.mode = Theme.dark ? "light" : "dark"
                    settings.theme = Theme.mode
                }
                ToolTip.visible: hovered
                ToolTip.delay: 600
                ToolTip.text: Theme.dark ? qsTr("Light theme") : qsTr("Dark theme")
            }
        }
    }

    SplitView {
        id: mainSplit
        anchors.fill: parent
        orientation: Qt.Horizontal

        HierarchyPane {
            id: hierarchyPane
            SplitView.preferredWidth: 360
            SplitView.minimumWidth: 240
            monitor: window.monitor
        }

        SplitView {
            id: centreSplit
            SplitView.fillWidth: true
            orientation: Qt.Vertical

            StackLayout {
                id: stack
                objectName: "viewStack"
                SplitView.fillHeight: true
                SplitView.minimumHeight: 240
                currentIndex: window.viewIndex

                OverviewView {
                    monitor: window.monitor
                }
                RegionView {
                    monitor: window.monitor
                }
                HeartbeatsView {
                    monitor: window.monitor
                }
                ContainerView {
                    monitor: window.monitor
                }
                EventsPanel {
                    monitor: window.monitor
                    radius: 0
                    border.width: 0
                }
            }

            EventsPanel {
                objectName: "dockedEvents"
                SplitView.preferredHeight: 190
                SplitView.minimumHeight: 90
                visible: window.currentView !== "events"
                monitor: window.monitor
                radius: 0
                border.width: 0
            }
        }
    }

    footer: Rectangle {
        implicitHeight: 24
        color: Theme.surface
        Rectangle {
            width: parent.width
            height: 1
            color: Theme.border
        }
        RowLayout {
            anchors.fill: parent
            anchors.leftMargin: 12
            anchors.rightMargin: 12
            spacing: 16
            Label {
                objectName: "statusText"
                text: {
                    let connected = 0
                    for (let i = 0; i < connectionObjects.count; ++i) {
                        const c = connectionObjects.objectAt(i)
                        if (c && c.status === 2)
                            ++connected
                    }
                    return qsTr("%1 of %2 connected").arg(connected).arg(Format.plural(connectionObjects.count, qsTr("broker"), qsTr("brokers")))
                }
                color: Theme.textMuted
                font.pixelSize: 11
            }
            Label {
                text: window.monitor.selectedPath && window.monitor.selectedPath.length > 0
                      ? window.monitor.selectedPath.join(" / ") : ""
                color: Theme.textMuted
                font.pixelSize: 11
                Layout.fillWidth: true
                elide: Text.ElideMiddle
            }
            Label {
                text: window.monitor.loaded ? qsTr("live") : qsTr("loading…")
                color: window.monitor.loaded ? Theme.good : Theme.warn
                font.pixelSize: 11
            }
        }
    }

    BrokersDialog {
        id: brokersDialog
        objectName: "brokersDialog"
        monitor: window.monitor
    }
}
