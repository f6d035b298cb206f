#pragma once

// The Broker's state, shared by its handler files (one per message family): session_handlers.cpp,
// admin_handlers.cpp, data_handlers.cpp, monitor_handlers.cpp, operations_handlers.cpp. broker.cpp
// owns sessions, dispatch and change fan-out.

#include "auth_throttle.h"
#include "broker_error.h"
#include "region_watcher.h"
#include "service_regions.h"
#include "session_state.h"

#include <commy/broker/broker.h>
#include <commy/protocol/codec.h>

#include <QElapsedTimer>
#include <QTimer>

#include <map>
#include <memory>
#include <set>

namespace commy::broker {

struct Broker::Impl {
    Broker* self = nullptr;
    BrokerOptions options;
    std::unique_ptr<Store> store;
    ServiceRegions regions;
    AuthThrottle throttle;
    std::map<SessionId, SessionState> sessions;
    SessionId nextSession = 1;
    std::map<ServiceKey, std::set<SessionId>> subscribers;
    // Every service the store holds, kept in step by Create/DeleteService and DeleteTenant: data
    // requests check existence here instead of querying SQLite on every write.
    std::set<ServiceKey> knownServices;
    std::map<ServiceKey, std::unique_ptr<RegionWatcher>> watchers;
    QTimer heartbeat; // keeps commyd's slot in every open region's process table fresh
    QElapsedTimer started; // uptime, and the clock of Watch ticks (monotonic, unlike `now()`)
    QTimer monitorTimer; // single shot, set for the earliest due Watch tick of any session

    // Keys that verified once, by SHA-256 of owner and key: a key check costs one slow PBKDF2
    // derivation, which a reconnecting fleet must not pay per connection. In memory only; revoking a
    // key or deleting its tenant drops its entries.
    struct VerifiedKey {
        Owner owner;
        QString keyId;
        Scopes scopes;
    };
    std::map<QByteArray, VerifiedKey> verifiedKeys;

    Impl(BrokerOptions options, std::unique_ptr<Store> store);

    qint64 now() const;
    using Result = BrokerExpected<protocol::ResultData>;

    // session_handlers.cpp
    Result handle(SessionState& session, const protocol::Authenticate& m);
    Result handle(SessionState& session, const protocol::Logout& m);
    Result handle(SessionState& session, const protocol::RefreshToken& m);
    Result handle(SessionState& session, const protocol::Heartbeat& m);
    BrokerExpected<Scopes> verifyCredential(const protocol::Authenticate& m, QString& keyId, QString& actor);
    void dropGrantsWhere(const std::function<bool(const Owner&, const Grant&)>& revoked);

    // admin_handlers.cpp
    Result handle(SessionState& session, const protocol::CreateTenant& m);
    Result handle(SessionState& session, const protocol::DeleteTenant& m);
    Result handle(SessionState& session, const protocol::ListTenants& m);
    Result handle(SessionState& session, const protocol::CreateKey& m);
    Result handle(SessionState& session, const protocol::RevokeKey& m);
    Result handle(SessionState& session, const protocol::ListKeys& m);
    Result handle(SessionState& session, const protocol::CreateUser& m);
    Result handle(SessionState& session, const protocol::DeleteUser& m);
    Result handle(SessionState& session, const protocol::CreateService& m);
    Result handle(SessionState& session, const protocol::GetService& m);
    Result handle(SessionState& session, const protocol::DeleteService& m);
    Result handle(SessionState& session, const protocol::ListServices& m);
    BrokerExpected<protocol::ServiceInfo> serviceInfo(const ServiceKey& key);
    void audit(const SessionState& session, const QString& tenant, const QString& action, const QString& target,
        const QString& detail = {});

    // data_handlers.cpp
    Result handle(SessionState& session, const protocol::AllocateVariable& m);
    Result handle(SessionState& session, const protocol::WriteVariable& m);
    Result handle(SessionState& session, const protocol::ReadVariable& m);
    Result handle(SessionState& session, const protocol::DeallocateVariable& m);
    Result handle(SessionState& session, const protocol::ListVariables& m);
    Result handle(SessionState& session, const protocol::Subscribe& m);
    Result handle(SessionState& session, const protocol::Unsubscribe& m);
    Result handle(SessionState& session, const protocol::GetServiceFilePath& m);
    BrokerExpected<void> requireService(const ServiceKey& key);

    // monitor_handlers.cpp
    Result handle(SessionState& session, const protocol::GetBrokerInfo& m);
    Result handle(SessionState& session, const protocol::GetTree& m);
    Result handle(SessionState& session, const protocol::GetRegionStats& m);
    Result handle(SessionState& session, const protocol::GetBlockMap& m);
    Result handle(SessionState& session, const protocol::GetProcesses& m);
    Result handle(SessionState& session, const protocol::GetSessions& m);
    Result handle(SessionState& session, const protocol::BrowseRoot& m);
    Result handle(SessionState& session, const protocol::Watch& m);
    BrokerExpected<shm::Region*> serviceRegion(const ServiceKey& key); // NOT_FOUND without a service row
    BrokerExpected<protocol::ServiceTree> serviceTree(const ServiceKey& key);
    // Pushes what changed in one watched service since the previous tick.
    void pushChanges(SessionState& session, WatchedService& target, shm::Region& region);
    void monitorTick();
    void scheduleMonitor();
    void dropWatchTargets(const std::function<bool(const ServiceKey&)>& which);

    // operations_handlers.cpp
    Result handle(SessionState& session, const protocol::ResizeRegion& m);
    Result handle(SessionState& session, const protocol::ShrinkRegion& m);
    Result handle(SessionState& session, const protocol::CleanupRegion& m);
    void recordSize(const ServiceKey& key, shm::Region& region);

    // broker.cpp
    void dispatch(SessionState& session, const protocol::RequestFrame& frame);
    void watch(const ServiceKey& key);
    void onRegionChanged(const ServiceKey& key);
    // A write this broker made: pushed at once with its value, so subscribers see every version the
    // broker writes (the journal only holds the newest value by the time it is read).
    void publishWrite(const ServiceKey& key, const QString& variable, const QByteArray& value, qint64 version);
    void fanOut(const ServiceKey& key, const std::vector<VariableValue>& changes);
    void unsubscribeAll(SessionState& session, const std::function<bool(const ServiceKey&)>& which);
    void forgetService(const ServiceKey& key);
};

} // namespace commy::broker
