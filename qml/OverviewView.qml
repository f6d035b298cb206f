import QtQuick
import QtQuick.Layouts
import QtQuick.Controls.Fusion
import QtQml.Models
import Commy.Monitor
import "format.js" as Format

// Every connected broker at a glance: its connection, its size and usage, what it holds.
Item {
    id: view

    required property var monitor

    // The connection rows by broker name (the hierarchy's broker rows are named after connections).
    Instantiator {
        id: connections
        model: view.monitor.connections
        delegate: QtObject {
            required property string name
            required property string url
            required property int status
            required property string statusText
            required property int rttMs
        }
    }
    readonly property string selectedKey: monitor.selectedPath ? monitor.selectedPath.join("/") : ""
    readonly property var columnTitles: [qsTr("Name"), qsTr("Contents"), qsTr("Size"), qsTr("Used"), qsTr("Usage"),
                                         qsTr("Fragmentation")]
    readonly property var fixedWidths: [0, 200, 100, 100, 170, 120]
    function columnWidth(column) {
        if (column > 0)
            return fixedWidths[column]
        const rest = fixedWidths.reduce((a, b) => a + b, 0)
        return Math.max(220, table.width - rest)
    }

    // Brokers open to their services; past a few hundred tenants only to the tenants.
    Timer {
        id: expandTable
        interval: 0
        onTriggered: {
            let tenants = 0
            for (let i = 0; i < brokerCards.count; ++i) {
                const card = brokerCards.itemAt(i)
                if (card)
                    tenants += card.tenantCount
            }
            table.expandRecursively(-1, tenants > 200 ? 1 : 2)
        }
    }
    Connections {
        target: view.monitor.hierarchyFilter
        function onRowsInserted(parent, first, last) {
            if (!parent || !parent.valid)
                expandTable.restart()
        }
        function onModelReset() {
            expandTable.restart()
        }
    }

    function contentsOf(node) {
        switch (node.nodeType) {
        case Monitor.Broker:
            return Format.plural(node.tenantCount, qsTr("tenant"), qsTr("tenants")) + " · "
                + Format.plural(node.serviceCount, qsTr("service"), qsTr("services"))
        case Monitor.Tenant:
            return Format.plural(node.serviceCount, qsTr("service"), qsTr("services"))
        case Monitor.Service:
            return Format.plural(node.rootCount, qsTr("root"), qsTr("roots"))
        }
        return node.kind + " · " + Format.plural(node.length, qsTr("element"), qsTr("elements"))
    }

    function connectionOf(name) {
        for (let i = 0; i < connections.count; ++i) {
            const c = connections.objectAt(i)
            if (c && c.name === name)
                return c
        }
        return null
    }

    ColumnLayout {
        anchors.fill: parent
        anchors.margins: 12
        spacing: 12

        Flow {
            id: cards
            Layout.fillWidth: true
            spacing: 12

            Repeater {
                id: brokerCards
                model: view.monitor.hierarchy

                delegate: Rectangle {
                    id: card

                    required property string name
                    required property var path
                    required property var url
                    required property var brokerVersion
                    required property var uptime
                    required property var sessionCount
                    required property int tenantCount
                    required property int serviceCount
                    required property int rootCount
                    required property var size
                    required property var used
                    required property var free
                    required property var usage
                    required property var limit
                    required property var largestFree
                    readonly property var connection: view.connectionOf(name)

                    width: Math.max(340, Math.min(520, (cards.width - cards.spacing) / 2))
                    height: cardLayout.implicitHeight + 24
                    color: Theme.surface
                    border.color: Theme.border
                    radius: Theme.radius

                    TapHandler {
                        onTapped: view.monitor.select(card.path)
                    }

                    ColumnLayout {
                        id: cardLayout
                        anchors {
                            fill: parent
                            margins: 12
                        }
                        spacing: 8

                        RowLayout {
                            spacing: 8
                            StatusDot {
                                color: card.connection ? Theme.statusColor(card.connection.status) : Theme.idle
                            }
                            Label {
                                text: card.name
                                font.pixelSize: 16
                                font.bold: true
                                color: Theme.text
                            }
                            Label {
                                text: card.connection ? card.connection.statusText : ""
                                color: Theme.textMuted
                            }
                            Item {
                                Layout.fillWidth: true
                            }
                            Label {
                                text: card.connection && card.connection.rttMs >= 0
                                      ? qsTr("rtt %1 ms").arg(card.connection.rttMs) : ""
                                color: Theme.textMuted
                                font.pixelSize: 11
                            }
                        }
                        Label {
                            Layout.fillWidth: true
                            text: qsTr("%1 · version %2 · up %3 · %4").arg(card.url).arg(card.brokerVersion)
                                .arg(Format.duration(card.uptime))
                                .arg(Format.plural(card.sessionCount || 0, qsTr("session"), qsTr("sessions")))
                            color: Theme.textMuted
                            font.pixelSize: 11
                            elide: Text.ElideRight
                        }
                        GridLayout {
                            Layout.fillWidth: true
                            columns: 4
                            columnSpacing: 16
                            rowSpacing: 2
                            Repeater {
                                model: [
                                    [qsTr("Tenants"), Format.count(card.tenantCount)],
                                    [qsTr("Services"), Format.count(card.serviceCount)],
                                    [qsTr("Roots"), Format.count(card.rootCount)],
                                    [qsTr("Largest free"), Format.bytes(card.largestFree)]
                                ]
                                delegate: ColumnLayout {
                                    required property var modelData
                                    spacing: 0
                                    Label {
                                        text: modelData[0].toUpperCase()
                                        font.pixelSize: 10
                                        font.bold: true
                                        color: Theme.textMuted
                                    }
                                    Label {
                                        text: modelData[1]
                                        font.pixelSize: 18
                                        color: Theme.text
                                    }
                                }
                            }
                        }
                        RowLayout {
                            Layout.fillWidth: true
                            spacing: 8
                            UsageBar {
                                Layout.fillWidth: true
                                implicitHeight: 8
                                value: card.usage || 0
                            }
                            Label {
                                text: qsTr("%1 of %2 used (%3)").arg(Format.bytes(card.used))
                                    .arg(Format.bytes(card.size)).arg(Format.percent(card.usage))
                                color: Theme.textMuted
                                font.pixelSize: 11
                            }
                        }
                    }
                }
            }
        }

        Placeholder {
            Layout.fillWidth: true
            Layout.topMargin: 40
            visible: view.monitor.hierarchy.brokerCount === 0
            title: qsTr("No broker connected")
            detail: qsTr("Add one with Brokers… (Ctrl+B), or start the monitor with --demo.")
        }

        Panel {
            Layout.fillWidth: true
            Layout.fillHeight: true
            visible: view.monitor.hierarchy.brokerCount > 0
            title: qsTr("Tenants and services")
            subtitle: qsTr("select a service for its region, a root to browse it")

            ColumnLayout {
                anchors.fill: parent
                spacing: 0

                // Column titles, as wide as the table's columns.
                Rectangle {
                    Layout.fillWidth: true
                    implicitHeight: 26
                    color: Theme.header
                    Row {
                        anchors.fill: parent
                        Repeater {
                            model: view.columnTitles
                            delegate: HeaderCell {
                                required property int index
                                required property string modelData
                                width: view.columnWidth(index)
                                height: 26
                                leftPadding: 10
                                rightPadding: 10
                                text: modelData
                                horizontalAlignment: index >= 2 ? Text.AlignRight : Text.AlignLeft
                            }
                        }
                    }
                }

                TreeView {
                    id: table
                    objectName: "overviewTable"
                    Layout.fillWidth: true
                    Layout.fillHeight: true
                    clip: true
                    model: view.monitor.hierarchyFilter
                    boundsBehavior: Flickable.StopAtBounds
                    columnWidthProvider: column => view.columnWidth(column)
                    onWidthChanged: forceLayout()
                    ScrollBar.vertical: ScrollBar {}
                    Component.onCompleted: expandTable.start()

                    delegate: Rectangle {
                        id: cell

                        required property TreeView treeView
                        required property bool isTreeNode
                        required property bool expanded
                        required property bool hasChildren
                        required property int depth
                        required property int row
                        required property int column
                        required property var display
                        required property var path
                        required property int nodeType
                        required property var usage
                        required property var fragmentation
                        required property int tenantCount
                        required property int serviceCount
                        required property int rootCount
                        required property var kind
                        required property var length

                        readonly property bool selected: path.join("/") === view.selectedKey

                        implicitHeight: 26
                        color: selected ? Theme.selection : row % 2 ? Theme.surfaceAlt : Theme.surface

                        TapHandler {
                            onTapped: view.monitor.select(cell.path)
                            onDoubleTapped: cell.treeView.toggleExpanded(cell.row)
                        }

                        Label {
                            id: arrow
                            visible: cell.isTreeNode
                            x: 8 + cell.depth * 16
                            width: 14
                            anchors.verticalCenter: parent.verticalCenter
                            text: cell.hasChildren ? (cell.expanded ? "▾" : "▸") : ""
                            color: Theme.textMuted
                            TapHandler {
                                onTapped: cell.treeView.toggleExpanded(cell.row)
                            }
                        }
                        UsageBar {
                            id: usageBar
                            visible: cell.column === 4 && cell.nodeType !== Monitor.Root
                            anchors {
                                left: parent.left
                                leftMargin: 10
                                verticalCenter: parent.verticalCenter
                            }
                            width: parent.width - 90
                            value: cell.usage || 0
                        }
                        Label {
                            anchors {
                                left: cell.isTreeNode ? arrow.right : parent.left
                                leftMargin: cell.isTreeNode ? 4 : 10
                                right: parent.right
                                rightMargin: 10
                                verticalCenter: parent.verticalCenter
                            }
                            text: cell.column === 1 ? view.contentsOf(cell)
                                : cell.display === undefined ? "" : cell.display
                            horizontalAlignment: cell.column >= 2 ? Text.AlignRight : Text.AlignLeft
                            elide: Text.ElideRight
                            font.bold: cell.column === 0 && cell.nodeType === Monitor.Broker
                            color: cell.column === 5 ? Theme.usageColor(cell.fragmentation || 0)
                                 : cell.column === 1 ? Theme.textMuted : Theme.text
                        }
                    }
                }
            }
        }
    }
}
