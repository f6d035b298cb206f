import QtQuick
import QtTest
import Commy.Monitor
import Commy.Monitor.Views

TestCase {
    id: testCase
    name: "Main"
    when: windowShown

    Component {
        id: mainComponent
        Main {
            width: 1440
            height: 900
        }
    }

    function init() {
        failOnWarning(/.*/)
        Theme.mode = "light"
    }
    function cleanup() {
        Theme.mode = "system"
    }

    function findRow(tree, name) {
        for (let row = 0; row < tree.rows; ++row) {
            const item = tree.itemAtCell(Qt.point(0, row))
            if (item && item.name === name)
                return item
        }
        return null
    }

    // QtCharts lays a chart out on a posted event after the view shows it: wait until its plot area
    // has the chart's new size, then for the scene to be drawn once more.
    function settle(window) {
        const chart = findChild(window.contentItem, "historyChart")
        if (window.currentView === "region" && chart) {
            tryVerify(() => chart.plotArea.width > chart.width / 2)
            wait(0)
        }
    }

    function test_loadsAndShowsTheHierarchy() {
        const window = createTemporaryObject(mainComponent, testCase, { monitor: fixture.monitor })
        verify(window)
        const tree = findChild(window.contentItem, "hierarchyTree")
        verify(tree)
        // Brokers open to show their tenants.
        tryVerify(() => findRow(tree, "acme") !== null)
        verify(findRow(tree, "local") !== null)
        verify(findRow(tree, "staging") !== null)
        compare(window.currentView, "overview")
        const summary = findChild(window.contentItem.parent, "brokerSummary")
        verify(summary)
    }

    function test_selectingOpensTheMatchingView() {
        const window = createTemporaryObject(mainComponent, testCase, { monitor: fixture.monitor })
        const tree = findChild(window.contentItem, "hierarchyTree")
        tryVerify(() => findRow(tree, "acme") !== null)
        tree.expandRecursively()
        tryVerify(() => findRow(tree, "orders") !== null)
        mouseClick(findRow(tree, "orders"))
        compare(fixture.monitor.lastCall, "select local/acme/orders")
        compare(window.currentView, "region")
        fixture.monitor.select(["local", "acme", "orders", "prices"])
        compare(window.currentView, "container")
        fixture.monitor.select(["local", "acme"])
        compare(window.currentView, "overview")
        fixture.monitor.select(["local", "acme", "orders"])
    }

    function test_viewSwitcherAndBrokers() {
        const window = createTemporaryObject(mainComponent, testCase, { monitor: fixture.monitor })
        mouseClick(findChild(window.contentItem.parent, "viewButton_heartbeats"))
        compare(window.currentView, "heartbeats")
        window.currentView = "brokers"
        compare(window.currentView, "heartbeats")
        tryVerify(() => window.brokersDialog.opened)
        window.brokersDialog.close()
        tryVerify(() => !window.brokersDialog.visible)
    }

    function test_keyboardShortcuts() {
        const window = createTemporaryObject(mainComponent, testCase, { monitor: fixture.monitor })
        verify(fixture.keyClick(window, Qt.Key_3, Qt.ControlModifier))
        compare(window.currentView, "heartbeats")
        verify(fixture.keyClick(window, Qt.Key_5, Qt.ControlModifier))
        compare(window.currentView, "events")
        verify(fixture.keyClick(window, Qt.Key_1, Qt.ControlModifier))
        compare(window.currentView, "overview")
        const refreshes = fixture.monitor.region.refreshCount
        verify(fixture.keyClick(window, Qt.Key_F5, Qt.NoModifier))
        compare(fixture.monitor.region.refreshCount, refreshes + 1)
        verify(fixture.keyClick(window, Qt.Key_F, Qt.ControlModifier))
        const filter = findChild(window.contentItem, "hierarchyFilter")
        tryVerify(() => filter.activeFocus)
        verify(fixture.keyClick(window, Qt.Key_B, Qt.ControlModifier))
        tryVerify(() => window.brokersDialog.opened)
        window.brokersDialog.close()
    }

    function test_filterNarrowsTheTree() {
        const window = createTemporaryObject(mainComponent, testCase, { monitor: fixture.monitor })
        const tree = findChild(window.contentItem, "hierarchyTree")
        tryVerify(() => findRow(tree, "acme") !== null)
        window.hierarchyPane.filterText = "telemetry"
        tryVerify(() => findRow(tree, "telemetry") !== null)
        tryVerify(() => findRow(tree, "acme") === null)
        verify(findRow(tree, "globex") !== null)
        window.hierarchyPane.filterText = ""
        tryVerify(() => findRow(tree, "acme") !== null)
    }

    function test_screenshots() {
        const window = createTemporaryObject(mainComponent, testCase, { monitor: fixture.monitor })
        const tree = findChild(window.contentItem, "hierarchyTree")
        tryVerify(() => findRow(tree, "acme") !== null)
        tree.expand(1) // acme
        for (const view of ["overview", "region", "heartbeats", "container", "events"]) {
            window.currentView = view
            if (view === "region" || view === "heartbeats")
                fixture.monitor.select(["local", "acme", "orders"])
            window.currentView = view
            settle(window)
            const light = fixture.grab(window, "main-" + view + "-light")
            verify(light.colours > 20, view + ": " + JSON.stringify(light))
        }
        Theme.mode = "dark"
        for (const view of ["overview", "region"]) {
            window.currentView = view
            settle(window)
            const dark = fixture.grab(window, "main-" + view + "-dark")
            verify(dark.colours > 20, view + ": " + JSON.stringify(dark))
        }
    }

    // 1,000 tenants x 10 services: the window opens and renders in reasonable time (the figure is
    // printed; the trees only create delegates for the rows on screen).
    function test_largeHierarchy() {
        fixture.monitor.addBroker("large", 1000, 10)
        const started = Date.now()
        const window = createTemporaryObject(mainComponent, testCase, { monitor: fixture.monitor })
        const tree = findChild(window.contentItem, "hierarchyTree")
        tryVerify(() => tree.rows > 1000)
        fixture.grab(window, "main-large")
        const elapsed = Date.now() - started
        console.info("1000 x 10 hierarchy: window up and rendered in " + elapsed + " ms, " + tree.rows + " rows")
        verify(elapsed < 20000, elapsed)
        window.hierarchyPane.filterText = "t999"
        tryVerify(() => tree.rows < 30)
        window.hierarchyPane.filterText = ""
        fixture.monitor.removeBroker("large")
    }

    function test_themeToggleOverridesTheSystem() {
        const window = createTemporaryObject(mainComponent, testCase, { monitor: fixture.monitor })
        Theme.mode = "system"
        // The offscreen platform's palette is light.
        verify(!Theme.systemDark)
        verify(!Theme.dark)
        const toggle = findChild(window.contentItem.parent, "themeToggle")
        mouseClick(toggle)
        compare(Theme.mode, "dark")
        verify(Theme.dark)
        compare(String(window.color), String(Theme.window))
        mouseClick(toggle)
        compare(Theme.mode, "light")
        verify(!Theme.dark)
    }

    function test_windowGeometryIsRemembered() {
        const first = mainComponent.createObject(testCase, { monitor: fixture.monitor })
        first.width = 1234
        first.height = 777
        first.destroy()
        tryVerify(() => first === null || first.width === undefined)
        const second = createTemporaryObject(mainComponent, testCase, { monitor: fixture.monitor })
        compare(second.width, 1234)
        compare(second.height, 777)
        second.width = 1440
        second.height = 900
    }
}
