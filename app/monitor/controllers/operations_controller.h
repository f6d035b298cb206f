#pragma once

// Resize, shrink and cleanup of the selected region: the confirmation text to show first, the size
// the user typed checked before anything is sent, one operation at a time (busy), and what the broker
// did (lastReport) or why it refused (lastError). canOperate is false, with a reason, when nothing is
// selected, the broker is not connected, or the key has neither admin on the tenant nor server_admin;
// the invokables still send when asked (the broker has the last word: PERMISSION_DENIED).

#include <QObject>
#include <QPointer>
#include <QtQml/qqmlregistration.h>

#include <functional>

namespace commy::protocol {
struct Error;
}

namespace commy::monitor {

class BrokerConnection;
class RegionController;

class OperationsController : public QObject {
    Q_OBJECT
    QML_ELEMENT
    QML_UNCREATABLE("MonitorController.operations")
    Q_PROPERTY(bool canOperate READ canOperate NOTIFY changed)
    Q_PROPERTY(QString disabledReason READ disabledReason NOTIFY changed)
    Q_PROPERTY(bool busy READ isBusy NOTIFY changed)
    Q_PROPERTY(QString lastReport READ lastReport NOTIFY changed)
    Q_PROPERTY(QString lastError READ lastError NOTIFY changed)

public:
    // Follows the region controller's target (its statistics check sizes and fill the texts).
    explicit OperationsController(RegionController* region, QObject* parent = nullptr);

    bool canOperate() const;
    QString disabledReason() const;
    bool isBusy() const;
    QString lastReport() const;
    QString lastError() const;

    // "" when `text` is a size the region can be resized to; else why not.
    Q_INVOKABLE QString validateSize(const QString& text) const;
    // The confirmation text for "resize" (with sizeText), "shrink" or "cleanup".
    Q_INVOKABLE QString describe(const QString& operation, const QString& sizeText = {}) const;
    Q_INVOKABLE void resize(const QString& sizeText);
    Q_INVOKABLE void shrink();
    Q_INVOKABLE void cleanup();

signals:
    void changed();
    void finished(bool ok);

private:
    void update();
    QString target() const; // "tenant/service"
    bool start(const QString& what);
    void finish(bool ok, const QString& report, const QString& error);
    void fail(const QString& error);

    RegionController* m_region;
    QPointer<BrokerConnection> m_connection;
    bool m_canOperate = false;
    QString m_disabledReason;
    bool m_busy = false;
    QString m_lastReport;
    QString m_lastError;
    quint64 m_operation = 0;
};

} // namespace commy::monitor
