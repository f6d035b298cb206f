import QtQuick
import QtTest
import Commy.Monitor.Views

TestCase {
    id: testCase
    name: "OperationsBar"
    when: windowShown

    Component {
        id: hostComponent
        ViewHost {
            property alias bar: bar
            width: 900
            height: 400
            OperationsBar {
                id: bar
                x: 20
                y: 20
                operations: fixture.monitor.operations
            }
        }
    }

    readonly property var operations: fixture.monitor.operations

    function init() {
        failOnWarning(/.*/)
        operations.canOperate = true
        operations.disabledReason = ""
    }

    function confirmAndWait(host) {
        const dialog = findChild(host.bar, "operationConfirm")
        tryVerify(() => dialog.opened)
        dialog.accept()
        verify(operations.busy)
        tryVerify(() => !operations.busy)
        return dialog
    }

    function test_resizeValidatesConfirmsAndReports() {
        const host = createTemporaryObject(hostComponent, testCase)
        const field = findChild(host.bar, "resizeSize")
        const button = findChild(host.bar, "resizeButton")
        verify(!button.enabled)
        field.text = "twelve"
        verify(host.bar.sizeError !== "")
        verify(!button.enabled)
        field.text = "128M"
        compare(host.bar.sizeError, "")
        verify(button.enabled)
        mouseClick(button)
        const dialog = findChild(host.bar, "operationConfirm")
        tryVerify(() => dialog.opened)
        compare(dialog.text, "Grow acme/orders from 64 MiB to 128M.")
        fixture.grab(host, "operations-confirm")
        confirmAndWait(host)
        compare(operations.lastCall, "resize 128M")
        const result = findChild(host.bar, "operationResult")
        tryVerify(() => result.visible)
        compare(result.text, "resized to 128M")
    }

    function test_shrinkAndCleanupReportErrors() {
        const host = createTemporaryObject(hostComponent, testCase)
        mouseClick(findChild(host.bar, "shrinkButton"))
        confirmAndWait(host)
        compare(operations.lastCall, "shrink")
        operations.failWith = "size below usage"
        mouseClick(findChild(host.bar, "cleanupButton"))
        confirmAndWait(host)
        compare(operations.lastCall, "cleanup")
        const result = findChild(host.bar, "operationResult")
        compare(result.text, "size below usage")
    }

    function test_disabledWithoutTheScope() {
        const host = createTemporaryObject(hostComponent, testCase)
        operations.canOperate = false
        operations.disabledReason = "the key lacks the admin scope"
        verify(!findChild(host.bar, "shrinkButton").enabled)
        verify(!findChild(host.bar, "cleanupButton").enabled)
        verify(!findChild(host.bar, "resizeSize").enabled)
        mouseMove(findChild(host.bar, "shrinkButton"), 5, 5)
        const hover = findChild(host.bar, "operationsHover")
        tryVerify(() => hover.hovered)
        const tip = findChild(host.bar, "disabledReason")
        tryVerify(() => tip.opened)
        compare(tip.text, "Operations unavailable: the key lacks the admin scope")
        fixture.grab(host, "operations-disabled")
    }
}
