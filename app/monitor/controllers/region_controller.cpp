#include "region_controller.h"

#include "broker_connection.h"
#include "conversions.h"

#include "../block_map.h"
#include "../models/free_block_histogram_model.h"
#include "../models/process_model.h"
#include "../models/session_model.h"

#include <QDateTime>

namespace commy::monitor {

RegionController::RegionController(QObject* parent)
    : QObject(parent)
    , m_blockMap(new BlockMap(this))
    , m_histogram(new FreeBlockHistogramModel(this))
    , m_processes(new ProcessModel(this))
    , m_sessions(new SessionModel(this))
{
    m_histogram->setBlockMap(m_blockMap);
    m_timer.setInterval(kRefreshIntervalMs);
    connect(&m_timer, &QTimer::timeout, this, &RegionController::tick);
}

RegionController::~RegionController() = default;

void RegionController::setTarget(BrokerConnection* connection, const QString& tenant, const QString& service)
{
    if (connection == m_connection && tenant == m_tenant && service == m_service)
        return;
    const bool brokerMoved = connection != m_connection;
    if (m_connection)
        m_connection->disconnect(this);
    ++m_target;
    m_connection = connection;
    m_tenant = connection ? tenant : QString();
    m_service = connection ? service : QString();
    m_processesInFlight = false;
    m_processesAgain = false;
    m_sessionsInFlight = false;
    m_blocks.clear();
    ++m_blockMapGeneration;
    m_blockMapLoading = false;
    m_blockMapError.clear();
    m_blockMap->clear();
    m_processes->clear();
    if (brokerMoved)
        m_sessions->clear();
    m_history.clear();
    const auto cached = connection ? connection->serviceStats(tenant, service) : std::nullopt;
    m_stats = cached.value_or(RegionStats {});
    // A tree's service carries no free-list figures: sample the history from the first full read.
    m_statsComplete = false;
    m_timer.stop();
    if (connection) {
        m_lastStatus = int(connection->status());
        connect(connection, &BrokerConnection::statsApplied, this, &RegionController::onStatsApplied);
        connect(connection, &BrokerConnection::processEventReceived, this, &RegionController::onProcessEvent);
        connect(connection, &BrokerConnection::stateChanged, this, &RegionController::onConnectionState);
        connect(connection, &QObject::destroyed, this, &RegionController::clear);
        m_timer.start();
    }
    emit changed();
    emit statsChanged();
    emit historyChanged();
    emit blockMapStateChanged();
    if (connection) {
        refresh();
        refreshBlockMap();
        sample();
    }
}

void RegionController::clear() { setTarget(nullptr, {}, {}); }

BrokerConnection* RegionController::connection() const { return m_connection; }

QString RegionController::brokerName() const { return m_connection ? m_connection->name() : QString(); }

QString RegionController::tenant() const { return m_tenant; }

QString RegionController::service() const { return m_service; }

bool RegionController::isActive() const { return !m_connection.isNull(); }

const RegionStats& RegionController::stats() const { return m_stats; }

QVariantList RegionController::history() const { return m_history; }

BlockMap* RegionController::blockMap() const { return m_blockMap; }

FreeBlockHistogramModel* RegionController::histogram() const { return m_histogram; }

bool RegionController::isBlockMapLoading() const { return m_blockMapLoading; }

QString RegionController::blockMapError() const { return m_blockMapError; }

ProcessModel* RegionController::processes() const { return m_processes; }

SessionModel* RegionController::sessions() const { return m_sessions; }

void RegionController::refresh()
{
    readStats();
    readProcesses();
    readSessions();
}

void RegionController::tick()
{
    readProcesses();
    readSessions();
    sample();
}

void RegionController::setStats(const RegionStats& stats)
{
    const bool first = !m_statsComplete;
    m_statsComplete = true;
    if (stats != m_stats) {
        m_stats = stats;
        emit statsChanged();
    }
    if (first)
        sample();
}

void RegionController::sample()
{
    if (!m_connection || !m_statsComplete)
        return;
    m_history.append(QVariantMap { { QStringLiteral("time"), QDateTime::currentMSecsSinceEpoch() },
        { QStringLiteral("usage"), m_stats.usage() }, { QStringLiteral("fragmentation"), m_stats.fragmentation } });
    while (m_history.size() > kHistoryLength)
        m_history.removeFirst();
    emit historyChanged();
}

void RegionController::readStats()
{
    if (!m_connection || m_connection->status() != ConnectionStatus::Connected)
        return;
    QPointer<RegionController> self(this);
    const quint64 target = m_target;
    m_connection->source()->send(
        protocol::GetRegionStats { m_tenant, m_service }, [self, target](const BrokerSource::Reply& reply) {
            // One read of the guard: to GCC -O2 every QPointer access may be null, and it warns
            // (-Wnull-dereference) on each one after the first.
            RegionController* const that = self.data();
            if (!that || target != that->m_target || !reply)
                return;
            that->setStats(toStats(std::get<protocol::RegionStats>(*reply)));
        });
}

void RegionController::readProcesses()
{
    if (!m_connection || m_connection->status() != ConnectionStatus::Connected)
        return;
    if (m_processesInFlight) {
        m_processesAgain = true;
        return;
    }
    m_processesInFlight = true;
    QPointer<RegionController> self(this);
    const quint64 target = m_target;
    m_connection->source()->send(
        protocol::GetProcesses { m_tenant, m_service }, [self, target](const BrokerSource::Reply& reply) {
            RegionController* const that = self.data();
            if (!that || target != that->m_target)
                return;
            that->m_processesInFlight = false;
            if (reply) {
                QList<ProcessSnapshot> processes;
                for (const protocol::ProcessEntry& entry : std::get<protocol::ProcessesResult>(*reply).processes)
                    processes.append(toProcess(entry));
                that->m_processes->setProcesses(processes);
            }
            if (that->m_processesAgain) {
                that->m_processesAgain = false;
                that->readProcesses();
            }
        });
}

void RegionController::readSessions()
{
    if (!m_connection || m_connection->status() != ConnectionStatus::Connected || m_sessionsInFlight
        || !m_connection->source()->isServerAdmin())
        return;
    m_sessionsInFlight = true;
    QPointer<RegionController> self(this);
    const quint64 target = m_target;
    m_connection->source()->send(protocol::GetSessions {}, [self, target](const BrokerSource::Reply& reply) {
        RegionController* const that = self.data();
        if (!that || target != that->m_target)
            return;
        that->m_sessionsInFlight = false;
        if (!reply)
            return;
        QList<SessionSnapshot> sessions;
        for (const protocol::SessionEntry& entry : std::get<protocol::SessionsResult>(*reply).sessions)
            sessions.append(toSession(entry));
        that->m_sessions->setSessions(sessions);
    });
}

void RegionController::refreshBlockMap()
{
    if (!m_connection)
        return;
    ++m_blockMapGeneration;
    m_blocks.clear();
    m_blockMapError.clear();
    if (m_connection->status() != ConnectionStatus::Connected) {
        m_blockMapLoading = false;
        m_blockMapError = tr("not connected");
        emit blockMapStateChanged();
        return;
    }
    m_blockMapLoading = true;
    emit blockMapStateChanged();
    readBlockPage(m_blockMapGeneration, 0);
}

void RegionController::readBlockPage(quint64 generation, qint64 offset)
{
    QPointer<RegionController> self(this);
    m_connection->source()->send(protocol::GetBlockMap { m_tenant, m_service, offset, kBlockMapPage },
        [self, generation, offset](const BrokerSource::Reply& reply) {
            RegionController* const that = self.data();
            if (!that || generation != that->m_blockMapGeneration)
                return;
            if (!reply) {
                that->m_blocks.clear();
                that->m_blockMapLoading = false;
                that->m_blockMapError = describeError(reply.error());
                emit that->blockMapStateChanged();
                return;
            }
            const auto& page = std::get<protocol::BlockMapResult>(*reply);
            for (const protocol::BlockEntry& block : page.blocks)
                that->m_blocks.push_back(toBlock(block));
            const qint64 read = offset + qint64(page.blocks.size());
            const bool capped = qint64(that->m_blocks.size()) >= kMaxBlocks;
            if (qint64(page.blocks.size()) == kBlockMapPage && read < page.total && !capped && that->m_connection) {
                that->readBlockPage(generation, read);
                return;
            }
            that->m_blockMap->setBlocks(std::move(that->m_blocks));
            that->m_blocks.clear();
            that->m_blockMapLoading = false;
            if (capped && read < page.total)
                that->m_blockMapError = tr("showing the first %1 of %2 blocks").arg(read).arg(page.total);
            emit that->blockMapStateChanged();
        });
}

void RegionController::onStatsApplied(const QList<ServiceStatsUpdate>& updates)
{
    for (const ServiceStatsUpdate& update : updates) {
        if (update.tenant == m_tenant && update.service == m_service) {
            setStats(update.stats);
            return;
        }
    }
}

void RegionController::onProcessEvent(const protocol::ProcessEvent& event)
{
    if (event.tenant == m_tenant && event.service == m_service)
        readProcesses();
}

void RegionController::onConnectionState()
{
    const int status = m_connection ? int(m_connection->status()) : 0;
    if (status == m_lastStatus)
        return;
    m_lastStatus = status;
    if (m_connection && m_connection->status() == ConnectionStatus::Connected) {
        m_processesInFlight = false;
        m_sessionsInFlight = false;
        refresh();
        if (m_blockMap->blockCount() == 0)
            refreshBlockMap();
    }
}

} // namespace commy::monitor
