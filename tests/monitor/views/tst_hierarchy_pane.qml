import QtQuick
import QtTest
import Commy.Monitor.Views

TestCase {
    id: testCase
    name: "HierarchyPane"
    when: windowShown

    Component {
        id: hostComponent
        ViewHost {
            property alias pane: pane
            width: 420
            height: 520
            HierarchyPane {
                id: pane
                anchors.fill: parent
                monitor: fixture.monitor
            }
        }
    }

    function init() {
        failOnWarning(/.*/)
    }

    function rowNamed(tree, name) {
        for (let row = 0; row < tree.rows; ++row) {
            const item = tree.itemAtCell(Qt.point(0, row))
            if (item && item.name === name)
                return item
        }
        return null
    }

    function test_showsTenantsWithSizesAndUsage() {
        const host = createTemporaryObject(hostComponent, testCase)
        const tree = host.pane.tree
        tryVerify(() => rowNamed(tree, "acme") !== null)
        // Two brokers, open to their tenants: local (acme, globex, initech) and staging (qa); a tree
        // this small opens down to its services too (7 of them).
        tryCompare(tree, "rows", 13)
        const acme = rowNamed(tree, "acme")
        compare(acme.serviceCount, 3)
        verify(acme.usage > 0 && acme.usage < 1)
        tree.expandRecursively()
        tryVerify(() => rowNamed(tree, "prices") !== null)
        compare(rowNamed(tree, "prices").kind, "hashmap")
        const shot = fixture.grab(host, "hierarchy-pane")
        verify(shot.colours > 10, JSON.stringify(shot))
    }

    function test_selectingCallsSelect() {
        const host = createTemporaryObject(hostComponent, testCase)
        const tree = host.pane.tree
        tryVerify(() => rowNamed(tree, "acme") !== null)
        tree.expandRecursively()
        tryVerify(() => rowNamed(tree, "billing") !== null)
        mouseClick(rowNamed(tree, "billing"))
        compare(fixture.monitor.lastCall, "select local/acme/billing")
        verify(rowNamed(tree, "billing").selected)
        fixture.monitor.select(["local", "acme", "orders"])
        verify(!rowNamed(tree, "billing").selected)
    }

    function test_filterExpandsToMatches() {
        const host = createTemporaryObject(hostComponent, testCase)
        const tree = host.pane.tree
        tryVerify(() => rowNamed(tree, "acme") !== null)
        tree.collapseRecursively()
        host.pane.filterText = "invoices"
        compare(fixture.monitor.hierarchyFilter.filterText, "invoices")
        // Only the path to the match stays, opened down to it.
        tryVerify(() => rowNamed(tree, "invoices") !== null)
        compare(tree.rows, 4) // local, acme, billing, invoices; nothing of staging
        verify(rowNamed(tree, "globex") === null)
        host.pane.filterText = ""
        tryVerify(() => rowNamed(tree, "globex") !== null)
    }

    function test_arrowKeysMoveTheSelection() {
        const host = createTemporaryObject(hostComponent, testCase)
        const tree = host.pane.tree
        tryVerify(() => rowNamed(tree, "acme") !== null)
        mouseClick(rowNamed(tree, "acme"))
        verify(tree.activeFocus)
        compare(fixture.monitor.lastCall, "select local/acme")
        verify(fixture.keyClick(host, Qt.Key_Right, Qt.NoModifier))
        tryVerify(() => rowNamed(tree, "orders") !== null)
        verify(fixture.keyClick(host, Qt.Key_Down, Qt.NoModifier))
        compare(fixture.monitor.lastCall, "select local/acme/orders")
        verify(fixture.keyClick(host, Qt.Key_Up, Qt.NoModifier))
        compare(fixture.monitor.lastCall, "select local/acme")
        verify(fixture.keyClick(host, Qt.Key_Left, Qt.NoModifier))
        tryVerify(() => rowNamed(tree, "orders") === null)
        fixture.monitor.select(["local", "acme", "orders"])
    }
}
