import QtQuick
import QtTest
import Commy.Monitor
import Commy.Monitor.Views

TestCase {
    id: testCase
    name: "HeartbeatsView"
    when: windowShown

    Component {
        id: hostComponent
        ViewHost {
            property alias view: view
            HeartbeatsView {
                id: view
                anchors.fill: parent
                monitor: fixture.monitor
            }
        }
    }

    function init() {
        failOnWarning(/.*/)
    }

    function rowNamed(list, name) {
        for (let i = 0; i < list.count; ++i) {
            const item = list.itemAtIndex(i)
            if (item && item.name === name)
                return item
        }
        return null
    }

    function test_showsProcessesAndSessions() {
        const host = createTemporaryObject(hostComponent, testCase)
        const processes = findChild(host.view, "processList")
        const sessions = findChild(host.view, "sessionList")
        compare(processes.count, 6)
        compare(sessions.count, 5)
        tryVerify(() => rowNamed(processes, "audit-exporter") !== null)
        const dead = rowNamed(processes, "audit-exporter")
        compare(dead.liveness, Monitor.Dead)
        compare(String(dead.livenessColor), String(Theme.bad))
        compare(rowNamed(processes, "fulfilment-worker-2").liveness, Monitor.Stale)
        compare(rowNamed(processes, "order-router").liveness, Monitor.Alive)
        // The sparkline has the model's recent ages.
        compare(dead.heartbeatHistory.length, 40)
        compare(host.view.livenessSummary, "4 alive · 1 stale · 1 dead")
        const shot = fixture.grab(host, "heartbeats-view")
        verify(shot.colours > 20, JSON.stringify(shot))
    }

    function test_inactiveShowsAPlaceholder() {
        const host = createTemporaryObject(hostComponent, testCase)
        const region = fixture.monitor.region
        region.active = false
        verify(!findChild(host.view, "processList").visible)
        region.active = true
        verify(findChild(host.view, "processList").visible)
    }
}
