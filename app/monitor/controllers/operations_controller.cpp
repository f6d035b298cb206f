#include "operations_controller.h"

#include "broker_connection.h"
#include "conversions.h"
#include "region_controller.h"

#include "../format.h"
#include "../models/process_model.h"
#include "../models/roles.h"

namespace commy::monitor {

OperationsController::OperationsController(RegionController* region, QObject* parent)
    : QObject(parent)
    , m_region(region)
{
    connect(m_region, &RegionController::changed, this, &OperationsController::update);
    update();
}

bool OperationsController::canOperate() const { return m_canOperate; }

QString OperationsController::disabledReason() const { return m_disabledReason; }

bool OperationsController::isBusy() const { return m_busy; }

QString OperationsController::lastReport() const { return m_lastReport; }

QString OperationsController::lastError() const { return m_lastError; }

QString OperationsController::target() const { return m_region->tenant() + QLatin1Char('/') + m_region->service(); }

void OperationsController::update()
{
    BrokerConnection* connection = m_region->connection();
    if (connection != m_connection) {
        if (m_connection)
            m_connection->disconnect(this);
        m_connection = connection;
        if (connection)
            connect(connection, &BrokerConnection::stateChanged, this, &OperationsController::update);
    }
    bool can = false;
    QString reason;
    if (!connection) {
        reason = tr("select a service first");
    } else if (connection->status() != ConnectionStatus::Connected) {
        reason = tr("the broker is not connected");
    } else if (!connection->source()->allows(QStringLiteral("admin"), m_region->tenant())) {
        reason = tr("the key lacks the admin scope on %1 (and server_admin)").arg(m_region->tenant());
    } else {
        can = true;
    }
    if (can == m_canOperate && reason == m_disabledReason)
        return;
    m_canOperate = can;
    m_disabledReason = reason;
    emit changed();
}

QString OperationsController::validateSize(const QString& text) const
{
    const std::optional<quint64> size = parseSize(text);
    if (!size)
        return tr("enter a size such as 64M, 1G or a number of bytes");
    const RegionStats& stats = m_region->stats();
    if (stats.limit > 0 && *size > stats.limit)
        return tr("%1 is above the region's limit of %2").arg(formatBytes(*size), formatBytes(stats.limit));
    if (*size < stats.used)
        return tr("%1 is below the %2 in use").arg(formatBytes(*size), formatBytes(stats.used));
    return {};
}

QString OperationsController::describe(const QString& operation, const QString& sizeText) const
{
    if (!m_region->isActive())
        return tr("Select a service first.");
    const RegionStats& stats = m_region->stats();
    if (operation == QLatin1String("resize")) {
        const QString invalid = validateSize(sizeText);
        if (!invalid.isEmpty())
            return invalid;
        const quint64 size = *parseSize(sizeText);
        QString text = tr("Resize %1 from %2 to %3?").arg(target(), formatBytes(stats.size), formatBytes(size));
        text += QLatin1Char(' ');
        text += size < stats.size ? tr("Only free space at the end of the file is given back; live data stays.")
                                  : tr("Attached processes stay attached and remap the region on their next access.");
        return text + QLatin1Char(' ') + tr("Sizes round up to whole pages.");
    }
    if (operation == QLatin1String("shrink")) {
        return tr("Shrink %1 (now %2, %3 free)? The free space at the end of the file is given back; live data is "
                  "never moved.")
            .arg(target(), formatBytes(stats.size), formatBytes(stats.free));
    }
    if (operation == QLatin1String("cleanup")) {
        const ProcessModel* processes = m_region->processes();
        int dead = 0;
        for (int row = 0; row < processes->rowCount(); ++row)
            if (processes->data(processes->index(row, 0), LivenessRole).toInt() == int(Liveness::Dead))
                ++dead;
        return tr("Clean up %1? The slots of %n dead process(es) are freed and the blocks they allocated but never "
                  "published are reclaimed; a lock or a resize a dead process left behind is repaired.",
            nullptr, dead)
            .arg(target());
    }
    return tr("Unknown operation '%1'.").arg(operation);
}

bool OperationsController::start(const QString& what)
{
    if (m_busy) {
        m_lastError = tr("%1: another operation is still running").arg(what);
        emit changed();
        emit finished(false);
        return false;
    }
    if (!m_connection) {
        fail(tr("%1: select a service first").arg(what));
        return false;
    }
    m_busy = true;
    m_lastError.clear();
    emit changed();
    return true;
}

void OperationsController::fail(const QString& error)
{
    m_lastError = error;
    emit changed();
    emit finished(false);
}

void OperationsController::finish(bool ok, const QString& report, const QString& error)
{
    m_busy = false;
    if (ok)
        m_lastReport = report;
    m_lastError = error;
    if (m_connection) {
        m_connection->addEvent(ok ? EventKind::Operation : EventKind::Error, target(), ok ? report : error);
        m_region->refresh();
        m_region->refreshBlockMap();
    }
    emit changed();
    emit finished(ok);
}

void OperationsController::resize(const QString& sizeText)
{
    const QString invalid = validateSize(sizeText);
    if (!invalid.isEmpty()) {
        fail(invalid);
        return;
    }
    if (!start(tr("resize")))
        return;
    const quint64 size = *parseSize(sizeText);
    const quint64 before = m_region->stats().size;
    const QString where = target();
    QPointer<OperationsController> self(this);
    const quint64 operation = ++m_operation;
    m_connection->source()->send(protocol::ResizeRegion { m_region->tenant(), m_region->service(), qint64(size) },
        [self, operation, where, before](const BrokerSource::Reply& reply) {
            // One read of the guard: to GCC -O2 every QPointer access may be null, and it warns
            // (-Wnull-dereference) on each one after the first.
            OperationsController* const that = self.data();
            if (!that || operation != that->m_operation)
                return;
            if (!reply) {
                that->finish(false, {}, tr("resize %1: %2").arg(where, describeError(reply.error())));
                return;
            }
            const quint64 after = quint64(std::get<protocol::RegionSizeResult>(*reply).size);
            that->finish(true, tr("Resized %1 from %2 to %3").arg(where, formatBytes(before), formatBytes(after)), {});
        });
}

void OperationsController::shrink()
{
    if (!start(tr("shrink")))
        return;
    const quint64 before = m_region->stats().size;
    const QString where = target();
    QPointer<OperationsController> self(this);
    const quint64 operation = ++m_operation;
    m_connection->source()->send(protocol::ShrinkRegion { m_region->tenant(), m_region->service() },
        [self, operation, where, before](const BrokerSource::Reply& reply) {
            OperationsController* const that = self.data();
            if (!that || operation != that->m_operation)
                return;
            if (!reply) {
                that->finish(false, {}, tr("shrink %1: %2").arg(where, describeError(reply.error())));
                return;
            }
            const quint64 after = quint64(std::get<protocol::RegionSizeResult>(*reply).size);
            that->finish(true,
                tr("Shrank %1 from %2 to %3 (%4 given back)")
                    .arg(where, formatBytes(before), formatBytes(after),
                        formatBytes(before > after ? before - after : 0)),
                {});
        });
}

void OperationsController::cleanup()
{
    if (!start(tr("cleanup")))
        return;
    const QString where = target();
    QPointer<OperationsController> self(this);
    const quint64 operation = ++m_operation;
    m_connection->source()->send(protocol::CleanupRegion { m_region->tenant(), m_region->service() },
        [self, operation, where](const BrokerSource::Reply& reply) {
            OperationsController* const that = self.data();
            if (!that || operation != that->m_operation)
                return;
            if (!reply) {
                that->finish(false, {}, tr("cleanup %1: %2").arg(where, describeError(reply.error())));
                return;
            }
            const auto& result = std::get<protocol::CleanupResult>(*reply);
            QStringList parts;
            if (!result.freedSlots.empty()) {
                QStringList processes;
                for (const protocol::FreedSlot& slot : result.freedSlots)
                    processes.append(tr("%1 (pid %2, slot %3)").arg(slot.name).arg(slot.pid).arg(slot.slot));
                parts.append(tr("freed %n slot(s): %1", nullptr, int(result.freedSlots.size()))
                                 .arg(processes.join(QLatin1String(", "))));
            }
            if (result.reclaimedBlocks > 0)
                parts.append(tr("reclaimed %n block(s) (%1)", nullptr, int(result.reclaimedBlocks))
                                 .arg(formatBytes(quint64(result.reclaimedBytes))));
            if (result.lockRecovered)
                parts.append(tr("repaired the region lock"));
            if (result.resizeAborted)
                parts.append(tr("settled an interrupted resize"));
            that->finish(true,
                parts.isEmpty() ? tr("Cleaned up %1: nothing to do").arg(where)
                                : tr("Cleaned up %1: %2").arg(where, parts.join(QLatin1String("; "))),
                {});
        });
}

} // namespace commy::monitor
