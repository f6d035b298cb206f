#pragma once

// The selected service's region: its statistics (from the StatsUpdate pushes, read once with
// GetRegionStats on selection) and their recent history, its block map (GetBlockMap, page by page)
// with the free-block histogram, its process table (GetProcesses, read every second while selected)
// and the broker's sessions (GetSessions, server_admin only).

#include "../snapshots.h"

#include <QObject>
#include <QPointer>
#include <QTimer>
#include <QVariantList>
#include <QtQml/qqmlregistration.h>

#include <vector>

Q_MOC_INCLUDE("../block_map.h")
Q_MOC_INCLUDE("../models/free_block_histogram_model.h")
Q_MOC_INCLUDE("../models/process_model.h")
Q_MOC_INCLUDE("../models/session_model.h")

namespace commy::protocol {
struct ProcessEvent;
}

namespace commy::monitor {

class BlockMap;
class BrokerConnection;
class FreeBlockHistogramModel;
class ProcessModel;
class SessionModel;

class RegionController : public QObject {
    Q_OBJECT
    QML_ELEMENT
    QML_UNCREATABLE("MonitorController.region")
    Q_PROPERTY(QString brokerName READ brokerName NOTIFY changed)
    Q_PROPERTY(QString tenant READ tenant NOTIFY changed)
    Q_PROPERTY(QString service READ service NOTIFY changed)
    Q_PROPERTY(bool active READ isActive NOTIFY changed)
    Q_PROPERTY(quint64 size READ size NOTIFY statsChanged)
    Q_PROPERTY(quint64 limit READ limit NOTIFY statsChanged)
    Q_PROPERTY(quint64 used READ used NOTIFY statsChanged)
    Q_PROPERTY(quint64 free READ free NOTIFY statsChanged)
    Q_PROPERTY(quint64 largestFree READ largestFree NOTIFY statsChanged)
    Q_PROPERTY(quint64 usedBlocks READ usedBlocks NOTIFY statsChanged)
    Q_PROPERTY(quint64 freeBlocks READ freeBlocks NOTIFY statsChanged)
    Q_PROPERTY(quint64 generation READ generation NOTIFY statsChanged)
    Q_PROPERTY(double fragmentation READ fragmentation NOTIFY statsChanged)
    Q_PROPERTY(double usage READ usage NOTIFY statsChanged)
    Q_PROPERTY(QVariantList history READ history NOTIFY historyChanged)
    Q_PROPERTY(commy::monitor::BlockMap* blockMap READ blockMap CONSTANT)
    Q_PROPERTY(commy::monitor::FreeBlockHistogramModel* histogram READ histogram CONSTANT)
    Q_PROPERTY(bool blockMapLoading READ isBlockMapLoading NOTIFY blockMapStateChanged)
    Q_PROPERTY(QString blockMapError READ blockMapError NOTIFY blockMapStateChanged)
    Q_PROPERTY(commy::monitor::ProcessModel* processes READ processes CONSTANT)
    Q_PROPERTY(commy::monitor::SessionModel* sessions READ sessions CONSTANT)

public:
    static constexpr int kRefreshIntervalMs = 1000;
    static constexpr int kHistoryLength = 300;
    static constexpr qint64 kBlockMapPage = 50'000;
    static constexpr qint64 kMaxBlocks = 2'000'000; // beyond this the map shows the first ones

    explicit RegionController(QObject* parent = nullptr);
    ~RegionController() override;

    // Follows `service` of `tenant` on `connection` (nullptr: nothing).
    void setTarget(BrokerConnection* connection, const QString& tenant, const QString& service);
    void clear();
    BrokerConnection* connection() const;

    QString brokerName() const;
    QString tenant() const;
    QString service() const;
    bool isActive() const;
    const RegionStats& stats() const;
    quint64 size() const { return m_stats.size; }
    quint64 limit() const { return m_stats.limit; }
    quint64 used() const { return m_stats.used; }
    quint64 free() const { return m_stats.free; }
    quint64 largestFree() const { return m_stats.largestFree; }
    quint64 usedBlocks() const { return m_stats.usedBlocks; }
    quint64 freeBlocks() const { return m_stats.freeBlocks; }
    quint64 generation() const { return m_stats.generation; }
    double fragmentation() const { return m_stats.fragmentation; }
    double usage() const { return m_stats.usage(); }
    QVariantList history() const;

    BlockMap* blockMap() const;
    FreeBlockHistogramModel* histogram() const;
    bool isBlockMapLoading() const;
    QString blockMapError() const;
    Q_INVOKABLE void refreshBlockMap();
    ProcessModel* processes() const;
    SessionModel* sessions() const;

    // Reads stats, processes and sessions now (after an operation, or in tests).
    Q_INVOKABLE void refresh();

signals:
    void changed();
    void statsChanged();
    void historyChanged();
    void blockMapStateChanged();

private:
    void setStats(const RegionStats& stats);
    void sample();
    void tick();
    void readStats();
    void readProcesses();
    void readSessions();
    void readBlockPage(quint64 generation, qint64 offset);
    void onStatsApplied(const QList<ServiceStatsUpdate>& updates);
    void onProcessEvent(const protocol::ProcessEvent& event);
    void onConnectionState();

    using ConnectionStatusValue = int;
    QPointer<BrokerConnection> m_connection;
    QString m_tenant;
    QString m_service;
    RegionStats m_stats;
    bool m_statsComplete = false; // m_stats came from GetRegionStats or a StatsUpdate
    QVariantList m_history;
    BlockMap* m_blockMap;
    FreeBlockHistogramModel* m_histogram;
    ProcessModel* m_processes;
    SessionModel* m_sessions;
    QTimer m_timer;
    quint64 m_target = 0; // bumped by every setTarget(): replies for an older target are dropped
    bool m_processesInFlight = false;
    bool m_processesAgain = false; // a process event came while a read was in flight
    ConnectionStatusValue m_lastStatus = 0;
    bool m_sessionsInFlight = false;
    bool m_blockMapLoading = false;
    QString m_blockMapError;
    quint64 m_blockMapGeneration = 0;
    std::vector<BlockSnapshot> m_blocks; // pages read so far
};

} // namespace commy::monitor
