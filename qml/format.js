.pragma library

// Text for people, the way the backend's DisplayRole formats it (binary units, one decimal).

function bytes(value) {
    var n = Number(value)
    if (!isFinite(n) || n < 0)
        return "–"
    if (n < 1024)
        return n.toFixed(0) + " B"
    var units = ["KiB", "MiB", "GiB", "TiB", "PiB"]
    var i = -1
    do {
        n /= 1024
        ++i
    } while (n >= 1024 && i < units.length - 1)
    return n.toFixed(1) + " " + units[i]
}

function percent(fraction) {
    var f = Number(fraction)
    if (!isFinite(f))
        return "–"
    return (f * 100).toFixed(1) + " %"
}

function duration(ms) {
    var n = Number(ms)
    if (!isFinite(n) || n < 0)
        return "–"
    if (n < 1000)
        return n.toFixed(0) + " ms"
    var s = n / 1000
    if (s < 60)
        return s.toFixed(1) + " s"
    var m = Math.floor(s / 60)
    if (m < 60)
        return m + " min " + pad2(Math.floor(s % 60)) + " s"
    var h = Math.floor(m / 60)
    if (h < 24)
        return h + " h " + pad2(m % 60) + " min"
    return Math.floor(h / 24) + " d " + pad2(h % 24) + " h"
}

// 1234567 -> "1 234 567" (thin spaces do not depend on the locale's grouping character).
function count(value) {
    var n = Number(value)
    if (!isFinite(n))
        return "–"
    return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, "\u2009")
}

function pad2(n) {
    return (n < 10 ? "0" : "") + n
}

// "1 tenant", "3 tenants".
function plural(n, one, many) {
    return count(n) + " " + (Number(n) === 1 ? one : many)
}
