import QtQuick
import QtQuick.Layouts
import QtQuick.Controls.Fusion
import Commy.Monitor
import "format.js" as Format

// Brokers -> tenants -> services -> roots, filtered by name, with counts, sizes and usage bars.
// Selecting a row hands its path to the monitor, which opens the matching view.
Rectangle {
    id: pane

    required property var monitor
    readonly property string selectedKey: monitor.selectedPath ? monitor.selectedPath.join("/") : ""
    property alias filterText: filterField.text
    property alias tree: tree

    function focusFilter() {
        filterField.forceActiveFocus()
        filterField.selectAll()
    }

    color: Theme.surface

    ColumnLayout {
        anchors.fill: parent
        spacing: 0

        RowLayout {
            Layout.fillWidth: true
            Layout.margins: 8
            Layout.bottomMargin: 6
            spacing: 6

            TextField {
                id: filterField
                objectName: "hierarchyFilter"
                Layout.fillWidth: true
                placeholderText: qsTr("Filter tenants, services, roots (Ctrl+F)")
                selectByMouse: true
                onTextChanged: pane.monitor.hierarchyFilter.filterText = text
                Keys.onEscapePressed: text = ""
            }
            ToolButton {
                text: "⊞"
                font.pixelSize: 15
                ToolTip.visible: hovered
                ToolTip.text: qsTr("Expand all")
                onClicked: tree.expandRecursively()
            }
            ToolButton {
                text: "⊟"
                font.pixelSize: 15
                ToolTip.visible: hovered
                ToolTip.text: qsTr("Collapse to brokers")
                onClicked: tree.collapseRecursively()
            }
        }

        Rectangle {
            Layout.fillWidth: true
            height: 1
            color: Theme.border
        }

        TreeView {
            id: tree
            objectName: "hierarchyTree"
            Layout.fillWidth: true
            Layout.fillHeight: true
            clip: true
            model: pane.monitor.hierarchyFilter
            boundsBehavior: Flickable.StopAtBounds
            // Every value sits in the name column's delegate (the roles do not depend on the column),
            // so the other columns of the model are hidden.
            columnWidthProvider: column => column === 0 ? tree.width : 0
            onWidthChanged: forceLayout()
            ScrollBar.vertical: ScrollBar {}
            activeFocusOnTab: true

            // The row of the selection, -1 when it is not shown.
            function selectedRow() {
                for (let row = topRow; row <= bottomRow; ++row) {
                    const item = itemAtCell(Qt.point(0, row))
                    if (item && item.selected)
                        return row
                }
                return -1
            }
            function selectRow(row) {
                if (row < 0 || row >= rows)
                    return
                positionViewAtRow(row, TableView.Contain)
                forceLayout()
                const item = itemAtCell(Qt.point(0, row))
                if (item)
                    pane.monitor.select(item.path)
            }
            Keys.onUpPressed: selectRow(Math.max(0, selectedRow() - 1))
            Keys.onDownPressed: selectRow(selectedRow() + 1)
            Keys.onRightPressed: if (selectedRow() >= 0) expand(selectedRow())
            Keys.onLeftPressed: if (selectedRow() >= 0) collapse(selectedRow())

            delegate: Rectangle {
                id: row

                required property TreeView treeView
                required property bool isTreeNode
                required property bool expanded
                required property bool hasChildren
                required property int depth
                required property int row
                required property string name
                required property var path
                required property int nodeType
                required property var size
                required property var used
                required property var usage
                required property var fragmentation
                required property int tenantCount
                required property int serviceCount
                required property int rootCount
                required property var kind
                required property var length

                readonly property bool selected: path.join("/") === pane.selectedKey
                readonly property bool isRoot: nodeType === Monitor.Root

                implicitWidth: tree.width
                implicitHeight: Theme.rowHeight
                color: selected ? Theme.selection : hover.hovered ? Theme.hover : "transparent"

                HoverHandler {
                    id: hover
                }
                TapHandler {
                    onTapped: {
                        row.treeView.forceActiveFocus()
                        pane.monitor.select(row.path)
                    }
                    onDoubleTapped: row.treeView.toggleExpanded(row.row)
                }

                Label {
                    id: arrow
                    x: 6 + row.depth * 16
                    width: 14
                    anchors.verticalCenter: parent.verticalCenter
                    text: row.hasChildren ? (row.expanded ? "▾" : "▸") : ""
                    color: Theme.textMuted
                    TapHandler {
                        onTapped: row.treeView.toggleExpanded(row.row)
                    }
                }
                Rectangle {
                    id: badge
                    anchors {
                        left: arrow.right
                        leftMargin: 2
                        verticalCenter: parent.verticalCenter
                    }
                    width: 16
                    height: 16
                    radius: 3
                    color: ["#5b6cd9", "#2e9a8a", "#4a7fd0", "#8a6bd1"][row.nodeType] || Theme.idle
                    opacity: 0.9
                    Label {
                        anchors.centerIn: parent
                        text: ["B", "T", "S", "R"][row.nodeType] || ""
                        color: "white"
                        font.pixelSize: 10
                        font.bold: true
                    }
                }
                Label {
                    id: nameLabel
                    anchors {
                        left: badge.right
                        leftMargin: 6
                        right: detail.left
                        rightMargin: 6
                        verticalCenter: parent.verticalCenter
                    }
                    text: row.name
                    color: Theme.text
                    font.bold: row.nodeType === Monitor.Broker
                    elide: Text.ElideRight
                }
                Label {
                    id: detail
                    anchors {
                        right: bar.left
                        rightMargin: 8
                        verticalCenter: parent.verticalCenter
                    }
                    text: {
                        switch (row.nodeType) {
                        case Monitor.Broker:
                            return Format.plural(row.tenantCount, qsTr("tenant"), qsTr("tenants"))
                        case Monitor.Tenant:
                            return Format.plural(row.serviceCount, qsTr("service"), qsTr("services"))
                        case Monitor.Service:
                            return Format.plural(row.rootCount, qsTr("root"), qsTr("roots"))
                        }
                        return row.kind + " · " + Format.count(row.length)
                    }
                    color: Theme.textMuted
                    font.pixelSize: 11
                }
                UsageBar {
                    id: bar
                    anchors {
                        right: sizeLabel.left
                        rightMargin: 8
                        verticalCenter: parent.verticalCenter
                    }
                    width: 48
                    visible: !row.isRoot
                    value: row.usage || 0
                }
                Label {
                    id: sizeLabel
                    anchors {
                        right: parent.right
                        rightMargin: 10
                        verticalCenter: parent.verticalCenter
                    }
                    width: 62
                    horizontalAlignment: Text.AlignRight
                    text: Format.bytes(row.isRoot ? row.size : row.used)
                    color: Theme.textMuted
                    font.pixelSize: 11
                }

                ToolTip.visible: hover.hovered && !row.isRoot
                ToolTip.delay: 700
                ToolTip.text: qsTr("%1\nused %2 of %3 (%4)%5").arg(row.path.join(" / ")).arg(Format.bytes(row.used))
                    .arg(Format.bytes(row.size)).arg(Format.percent(row.usage))
                    .arg(row.nodeType === Monitor.Service ? qsTr("\nfragmentation %1").arg(Format.percent(row.fragmentation)) : "")
            }
        }

        Label {
            Layout.fillWidth: true
            Layout.margins: 16
            visible: tree.rows === 0
            horizontalAlignment: Text.AlignHCenter
            wrapMode: Text.Wrap
            color: Theme.textMuted
            text: filterField.text !== "" ? qsTr("Nothing matches “%1”.").arg(filterField.text)
                                          : qsTr("No broker connected yet.")
        }
    }

    // Matches can sit anywhere below a collapsed row: while a filter is on, everything is expanded.
    Timer {
        id: expandAfterFilter
        interval: 50
        onTriggered: {
            if (filterField.text !== "")
                tree.expandRecursively()
        }
    }
    Connections {
        target: pane.monitor.hierarchyFilter
        function onFilterTextChanged() {
            expandAfterFilter.restart()
        }
        function onRowsInserted(parent, first, last) {
            // New brokers open to show their tenants (which arrive after the broker's row), and a small
            // tree opens down to its services.
            if (!parent || !parent.valid || !parent.parent.valid)
                expandBrokers.restart()
        }
        function onModelReset() {
            expandBrokers.restart()
        }
    }
    Timer {
        id: expandBrokers
        interval: 0
        onTriggered: {
            tree.expandRecursively(-1, 1)
            if (tree.rows <= 30)
                tree.expandRecursively(-1, 2)
        }
    }
    Component.onCompleted: expandBrokers.start()
}
