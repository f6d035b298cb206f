import QtQuick
import QtTest
import Commy.Monitor.Views

TestCase {
    id: testCase
    name: "OverviewView"
    when: windowShown

    Component {
        id: hostComponent
        ViewHost {
            property alias view: view
            OverviewView {
                id: view
                anchors.fill: parent
                monitor: fixture.monitor
            }
        }
    }

    function init() {
        failOnWarning(/.*/)
    }

    function cellNamed(table, name) {
        for (let row = 0; row < table.rows; ++row) {
            const item = table.itemAtCell(Qt.point(0, row))
            if (item && item.display === name)
                return item
        }
        return null
    }

    function test_showsBrokersAndTheirTenants() {
        const host = createTemporaryObject(hostComponent, testCase)
        const table = findChild(host.view, "overviewTable")
        // Brokers, tenants and services are open: 2 + 4 + 7 rows.
        tryCompare(table, "rows", 13)
        verify(cellNamed(table, "telemetry") !== null)
        compare(host.view.contentsOf(cellNamed(table, "local")), "3 tenants · 6 services")
        compare(host.view.connectionOf("staging").status, 5)
        mouseClick(cellNamed(table, "search"))
        compare(fixture.monitor.lastCall, "select local/globex/search")
        fixture.monitor.select(["local", "acme", "orders"])
        const shot = fixture.grab(host, "overview-view")
        verify(shot.colours > 20, JSON.stringify(shot))
    }

    function test_aBrokerThatArrivesLaterOpens() {
        const host = createTemporaryObject(hostComponent, testCase)
        const table = findChild(host.view, "overviewTable")
        tryCompare(table, "rows", 13)
        fixture.monitor.addBroker("lab", 2, 3)
        // lab, its 2 tenants and their 6 services.
        tryCompare(table, "rows", 22)
        verify(cellNamed(table, "lab") !== null)
        fixture.monitor.removeBroker("lab")
        tryCompare(table, "rows", 13)
    }
}
