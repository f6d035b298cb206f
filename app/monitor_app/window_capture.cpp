#include "window_capture.h"

#include <QImage>

namespace commy::monitor {

namespace {
// Data arriving changes layouts (a tree row expands, a table fills); a view counts as ready once the
// condition has held on this many consecutive checks, so the picture shows the settled layout.
constexpr int kSettledChecks = 3;
constexpr int kPollMs = 100;
} // namespace

WindowCapture::WindowCapture(
    QQuickWindow* window, std::function<QString()> missing, QString file, int timeoutMs, QObject* parent)
    : QObject(parent)
    , m_window(window)
    , m_missing(std::move(missing))
    , m_file(std::move(file))
    , m_deadline(timeoutMs)
{
    m_poll.setInterval(kPollMs);
    connect(&m_poll, &QTimer::timeout, this, &WindowCapture::check);
}

void WindowCapture::start() { m_poll.start(); }

void WindowCapture::check()
{
    if (!m_window) {
        m_poll.stop();
        emit finished(1, QStringLiteral("the window went away before the screenshot"));
        return;
    }
    const QString missing = m_missing();
    m_readyChecks = missing.isEmpty() ? m_readyChecks + 1 : 0;
    if (m_readyChecks < kSettledChecks) {
        if (m_deadline.hasExpired()) {
            m_poll.stop();
            emit finished(1,
                QStringLiteral("the data did not load within the time allowed (waiting for %1); no screenshot")
                    .arg(missing.isEmpty() ? QStringLiteral("the layout to settle") : missing));
        }
        return;
    }
    m_poll.stop();
    const QImage image = m_window->grabWindow();
    if (image.isNull() || !image.save(m_file, "PNG")) {
        emit finished(1, QStringLiteral("cannot write the screenshot to %1").arg(m_file));
        return;
    }
    emit finished(
        0, QStringLiteral("screenshot written to %1 (%2x%3)").arg(m_file).arg(image.width()).arg(image.height()));
}

} // namespace commy::monitor
