import QtQuick

// Recent values as a line, oldest on the left, scaled to the larger of the largest value and `floor`
// (so a steady few milliseconds do not fill the box). The last point is marked.
Canvas {
    id: spark

    property var values: []
    property real floor: 1
    property color lineColor: Theme.accent

    implicitWidth: 110
    implicitHeight: 20
    renderStrategy: Canvas.Immediate

    onValuesChanged: requestPaint()
    onLineColorChanged: requestPaint()
    onWidthChanged: requestPaint()
    onHeightChanged: requestPaint()

    onPaint: {
        const ctx = getContext("2d")
        ctx.reset()
        const n = values ? values.length : 0
        if (n === 0 || width <= 4 || height <= 4)
            return
        let top = floor
        for (let i = 0; i < n; ++i)
            top = Math.max(top, values[i])
        const step = n > 1 ? (width - 4) / (n - 1) : 0
        const yOf = v => height - 2 - (height - 4) * Math.min(1, v / top)
        ctx.lineWidth = 1.2
        ctx.strokeStyle = lineColor
        ctx.beginPath()
        for (let i = 0; i < n; ++i) {
            const x = 2 + i * step
            if (i === 0)
                ctx.moveTo(x, yOf(values[i]))
            else
                ctx.lineTo(x, yOf(values[i]))
        }
        ctx.stroke()
        ctx.fillStyle = lineColor
        ctx.beginPath()
        ctx.arc(2 + (n - 1) * step, yOf(values[n - 1]), 2, 0, 2 * Math.PI)
        ctx.fill()
    }
}
