#pragma once

// The broker: tenants -> services -> variables. It authenticates sessions per tenant, checks every
// request against the caller's scopes for that tenant, keeps variables in one region per service
// (DATA_DIR/tenants/<tenant>/<service>.region) and pushes changes to subscribers, including changes
// local processes make through their own mapping (it follows each region's change journal).
//
// Everything runs on the thread that created the Broker, except one waiting thread per watched
// region, which only wakes that thread.

#include <commy/broker/session_handler.h>
#include <commy/broker/store.h>

#include <QObject>
#include <QString>

#include <memory>
#include <optional>

namespace commy::broker {

struct BrokerOptions {
    QString dataDir;
    Clock clock; // empty: the system clock
    int pbkdf2Iterations = Store::kMinPbkdf2Iterations;
    qint64 tokenTtlMs = Store::kDefaultTokenTtlMs;
    qint64 defaultServiceSize = 1 << 20; // region bytes when CreateService names no size
    qint64 maxServiceSize = qint64(1) << 32; // largest size or limit a service may ask for
    qint64 maxValueBytes = 512 * 1024; // largest variable value (a 1 MiB frame carries it as base64)
    int maxFailedAuthentications = 5; // per peer address within the window, then RATE_LIMITED
    qint64 failureWindowMs = 5 * 60 * 1000;
};

struct BrokerCounters {
    qint64 sessions = 0;
    qint64 subscriptions = 0;
    qint64 openRegions = 0;
};

class Broker : public QObject, public SessionHandler {
    Q_OBJECT
public:
    // Opens or creates DATA_DIR (mode 0700), its store, and the regions of existing services.
    static Expected<std::unique_ptr<Broker>, QString> open(BrokerOptions options);
    ~Broker() override;

    // When the store holds no live server key, creates one with scope server_admin and returns it:
    // `presetKey` (the COMMY_BOOTSTRAP_ADMIN_KEY value, "<key_id>.<secret>") if given, otherwise a
    // generated one. Returns nullopt when a server key already exists.
    Expected<std::optional<QString>, QString> bootstrapAdminKey(const QString& presetKey = {});

    SessionId openSession(const PeerInfo& peer, SessionOutput* output) override;
    void closeSession(SessionId session) override;
    void handleFrame(SessionId session, QByteArrayView frame) override;

    // Writes every open region back to its file (msync); used at shutdown.
    void flush();
    BrokerCounters counters() const;
    QString dataDir() const;
    Store& store();

private:
    struct Impl;
    explicit Broker(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

} // namespace commy::broker
