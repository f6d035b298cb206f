import QtQuick
import QtQuick.Layouts
import QtQuick.Controls.Fusion
import QtQml.Models
import Commy.Monitor
import "format.js" as Format

// The selected region's processes (slot, pid, name, heartbeat age, liveness, recent ages) and the
// broker's WebSocket sessions beside them.
Item {
    id: view

    required property var monitor
    readonly property var region: monitor.region
    readonly property var processes: region.processes
    readonly property var sessions: region.sessions

    // Each process's liveness, for the counts in the title.
    Instantiator {
        id: livenessOf
        model: view.processes
        delegate: QtObject {
            required property int liveness
        }
    }
    function countOf(liveness) {
        let n = 0
        for (let i = 0; i < livenessOf.count; ++i) {
            const p = livenessOf.objectAt(i)
            if (p && p.liveness === liveness)
                ++n
        }
        return n
    }
    readonly property string livenessSummary: qsTr("%1 alive · %2 stale · %3 dead").arg(countOf(Monitor.Alive))
        .arg(countOf(Monitor.Stale)).arg(countOf(Monitor.Dead))

    Placeholder {
        anchors.centerIn: parent
        width: Math.min(parent.width - 40, 520)
        visible: !view.region.active
        title: qsTr("No region selected")
        detail: qsTr("Select a service in the hierarchy to see the processes attached to its region.")
    }

    SplitView {
        anchors.fill: parent
        anchors.margins: 12
        orientation: Qt.Horizontal
        visible: view.region.active

        Panel {
            SplitView.fillWidth: true
            SplitView.minimumWidth: 420
            title: qsTr("Processes")
            subtitle: qsTr("%1 / %2 · %3 attached · %4").arg(view.region.tenant).arg(view.region.service)
                .arg(view.processes.count).arg(view.livenessSummary)

            ColumnLayout {
                anchors.fill: parent
                spacing: 0

                Rectangle {
                    Layout.fillWidth: true
                    implicitHeight: 28
                    color: Theme.header
                    RowLayout {
                        anchors.fill: parent
                        anchors.leftMargin: 10
                        anchors.rightMargin: 10
                        spacing: 8
                        HeaderCell {
                            text: qsTr("Slot")
                            Layout.preferredWidth: 40
                            horizontalAlignment: Text.AlignRight
                        }
                        HeaderCell {
                            text: qsTr("PID")
                            Layout.preferredWidth: 64
                            horizontalAlignment: Text.AlignRight
                        }
                        HeaderCell {
                            text: qsTr("Name")
                            Layout.fillWidth: true
                            Layout.minimumWidth: 100
                        }
                        HeaderCell {
                            text: qsTr("Heartbeat age")
                            Layout.preferredWidth: 96
                            horizontalAlignment: Text.AlignRight
                        }
                        HeaderCell {
                            text: qsTr("Liveness")
                            Layout.preferredWidth: 76
                        }
                        HeaderCell {
                            text: qsTr("Recent ages")
                            Layout.preferredWidth: 120
                        }
                    }
                }

                ListView {
                    id: processList
                    objectName: "processList"
                    Layout.fillWidth: true
                    Layout.fillHeight: true
                    clip: true
                    model: view.processes
                    boundsBehavior: Flickable.StopAtBounds
                    ScrollBar.vertical: ScrollBar {}

                    delegate: Rectangle {
                        id: processRow

                        required property int index
                        required property var slot
                        required property var pid
                        required property string name
                        required property var heartbeatAge
                        required property int liveness
                        required property var heartbeatHistory
                        readonly property color livenessColor: Theme.livenessColor(liveness)

                        width: ListView.view.width
                        height: 30
                        color: index % 2 ? Theme.surfaceAlt : Theme.surface

                        RowLayout {
                            anchors.fill: parent
                            anchors.leftMargin: 10
                            anchors.rightMargin: 10
                            spacing: 8
                            Label {
                                text: processRow.slot
                                Layout.preferredWidth: 40
                                horizontalAlignment: Text.AlignRight
                                color: Theme.textMuted
                                font: Theme.monoFont
                            }
                            Label {
                                text: processRow.pid
                                Layout.preferredWidth: 64
                                horizontalAlignment: Text.AlignRight
                                color: Theme.text
                                font: Theme.monoFont
                            }
                            Label {
                                text: processRow.name
                                Layout.fillWidth: true
                                Layout.minimumWidth: 100
                                elide: Text.ElideRight
                                color: processRow.liveness === Monitor.Dead ? Theme.textMuted : Theme.text
                            }
                            Label {
                                text: Format.duration(processRow.heartbeatAge)
                                Layout.preferredWidth: 96
                                horizontalAlignment: Text.AlignRight
                                color: processRow.liveness === Monitor.Alive ? Theme.text : processRow.livenessColor
                            }
                            Item {
                                Layout.preferredWidth: 76
                                implicitHeight: 20
                                Rectangle {
                                    anchors.verticalCenter: parent.verticalCenter
                                    width: livenessLabel.implicitWidth + 16
                                    height: 18
                                    radius: 9
                                    color: Qt.rgba(processRow.livenessColor.r, processRow.livenessColor.g,
                                                   processRow.livenessColor.b, 0.18)
                                    border.color: processRow.livenessColor
                                    Label {
                                        id: livenessLabel
                                        anchors.centerIn: parent
                                        text: processRow.liveness === Monitor.Dead ? qsTr("Dead")
                                            : processRow.liveness === Monitor.Stale ? qsTr("Stale") : qsTr("Alive")
                                        color: processRow.livenessColor
                                        font.pixelSize: 11
                                        font.bold: true
                                    }
                                }
                            }
                            Sparkline {
                                Layout.preferredWidth: 120
                                Layout.preferredHeight: 20
                                values: processRow.heartbeatHistory
                                floor: 1000
                                lineColor: processRow.livenessColor
                            }
                        }
                    }
                }
                Label {
                    Layout.fillWidth: true
                    Layout.margins: 16
                    visible: processList.count === 0
                    horizontalAlignment: Text.AlignHCenter
                    text: qsTr("No process is attached to this region.")
                    color: Theme.textMuted
                }
            }
        }

        Panel {
            SplitView.preferredWidth: 440
            SplitView.minimumWidth: 260
            title: qsTr("Sessions")
            subtitle: qsTr("%1 · %2").arg(view.region.brokerName).arg(Format.plural(view.sessions.count, qsTr("WebSocket client"), qsTr("WebSocket clients")))

            ColumnLayout {
                anchors.fill: parent
                spacing: 0

                Rectangle {
                    Layout.fillWidth: true
                    implicitHeight: 28
                    color: Theme.header
                    RowLayout {
                        anchors.fill: parent
                        anchors.leftMargin: 10
                        anchors.rightMargin: 10
                        spacing: 8
                        HeaderCell {
                            text: qsTr("Peer")
                            Layout.preferredWidth: 130
                        }
                        HeaderCell {
                            text: qsTr("Tenants")
                            Layout.fillWidth: true
                        }
                        HeaderCell {
                            text: qsTr("Subs")
                            Layout.preferredWidth: 40
                            horizontalAlignment: Text.AlignRight
                        }
                        HeaderCell {
                            text: qsTr("Queued")
                            Layout.preferredWidth: 64
                            horizontalAlignment: Text.AlignRight
                        }
                    }
                }

                ListView {
                    id: sessionList
                    objectName: "sessionList"
                    Layout.fillWidth: true
                    Layout.fillHeight: true
                    clip: true
                    model: view.sessions
                    boundsBehavior: Flickable.StopAtBounds
                    ScrollBar.vertical: ScrollBar {}

                    delegate: Rectangle {
                        id: sessionRow

                        required property int index
                        required property string peer
                        required property var tenants
                        required property int subscriptions
                        required property var queueBytes

                        width: ListView.view.width
                        height: 30
                        color: index % 2 ? Theme.surfaceAlt : Theme.surface

                        RowLayout {
                            anchors.fill: parent
                            anchors.leftMargin: 10
                            anchors.rightMargin: 10
                            spacing: 8
                            Label {
                                text: sessionRow.peer
                                Layout.preferredWidth: 130
                                elide: Text.ElideRight
                                font: Theme.monoFont
                                color: Theme.text
                            }
                            Label {
                                text: sessionRow.tenants.length > 0 ? sessionRow.tenants.join(", ") : qsTr("(server admin)")
                                Layout.fillWidth: true
                                elide: Text.ElideRight
                                color: sessionRow.tenants.length > 0 ? Theme.text : Theme.textMuted
                            }
                            Label {
                                text: sessionRow.subscriptions
                                Layout.preferredWidth: 40
                                horizontalAlignment: Text.AlignRight
                                color: Theme.text
                            }
                            Label {
                                text: Format.bytes(sessionRow.queueBytes)
                                Layout.preferredWidth: 64
                                horizontalAlignment: Text.AlignRight
                                color: Number(sessionRow.queueBytes) > 1048576 ? Theme.warn : Theme.textMuted
                            }
                        }
                    }
                }
                Label {
                    Layout.fillWidth: true
                    Layout.margins: 16
                    visible: sessionList.count === 0
                    horizontalAlignment: Text.AlignHCenter
                    text: qsTr("No WebSocket client.")
                    color: Theme.textMuted
                }
            }
        }
    }
}
