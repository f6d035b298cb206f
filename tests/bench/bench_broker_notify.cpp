// Write -> subscriber notification over loopback: commyd beside redis-server, same payload, same
// number of subscribers, same client process and event loop.
//
//   Commy: one writer sends WriteVariable; each subscriber holds Subscribe on the service and gets a
//          VariableChanged push.
//   Redis: one writer sends SET + PUBLISH (pipelined, one write); each subscriber holds SUBSCRIBE.
//
// Latency: one write at a time, timed from sending it until every subscriber has the value (p50/p99
// over all subscriber deliveries). Throughput: the writer keeps up to 32 writes in flight for a fixed
// time; reported as acknowledged writes per second and deliveries per second. Commy pushes carry the
// newest value, so a subscriber that falls behind receives fewer, newer pushes (a version gap) where
// Redis queues every message: deliveries are therefore reported beside writes, not instead of them.
//
// Both sides' clients are plain TCP sockets with as little protocol as they need: RFC 6455 framing
// for Commy (BenchWsClient), RESP for Redis. Subscribers read only the payload's sequence number (a
// substring search in the push, RESP framing for Redis): a full JSON decode per push, or QWebSocket's
// per-frame conversions, in this one-threaded client would measure the client instead of the servers.
//
// Usage: bench_broker_notify [--subscribers 1,10,100] [--writes 2000] [--seconds 3]
// commyd is taken from this program's directory; redis-server from PATH. Results: docs/benchmarks.md.

#include <commy/protocol/codec.h>
#include <commy/protocol/server_codec.h>

#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTimer>
#include <QtEndian>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

using namespace commy::protocol;

namespace {

constexpr int kPayloadBytes = 64;
constexpr int kMaxInFlight = 32;

qint64 nowNs()
{
    static QElapsedTimer clock = [] {
        QElapsedTimer t;
        t.start();
        return t;
    }();
    return clock.nsecsElapsed();
}

// 16 hex digits of the sequence number, padded to the payload size.
QByteArray payloadFor(quint64 seq)
{
    QByteArray payload = QByteArray::number(seq, 16).rightJustified(16, '0');
    payload.append(QByteArray(kPayloadBytes - payload.size(), 'x'));
    return payload;
}
quint64 seqOf(const QByteArray& payload) { return payload.left(16).toULongLong(nullptr, 16); }

// Runs the event loop until `done()` or the timeout; false on timeout.
bool waitUntil(const std::function<bool()>& done, int timeoutMs = 20000)
{
    QElapsedTimer timer;
    timer.start();
    while (!done()) {
        if (timer.elapsed() > timeoutMs)
            return false;
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents, 50);
    }
    return true;
}

// The client side of RFC 6455, as much as the benchmark needs: the upgrade request, masked text
// frames out, text frames in (the broker neither fragments nor masks).
class BenchWsClient {
public:
    std::function<void(QByteArrayView text)> onText;

    // Connects and upgrades; false if that did not happen within the wait.
    bool open(quint16 port)
    {
        QObject::connect(&m_socket, &QTcpSocket::readyRead, &m_socket, [this] { readAvailable(); });
        m_socket.connectToHost(QHostAddress::LocalHost, port);
        if (!waitUntil([&] { return m_socket.state() == QAbstractSocket::ConnectedState; }))
            return false;
        m_socket.setSocketOption(QAbstractSocket::LowDelayOption, 1);
        m_socket.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Key: YmVuY2htYXJrLWNsaWVudA==\r\nSec-WebSocket-Version: 13\r\n\r\n");
        return waitUntil([&] { return m_upgraded; });
    }

    void sendText(const QByteArray& text)
    {
        // A zero masking key: the payload goes out as it is, and the server still unmasks it.
        char header[14] = { char(0x81) };
        int headerBytes = 2;
        if (text.size() < 126) {
            header[1] = char(0x80 | text.size());
        } else if (text.size() <= 0xFFFF) {
            header[1] = char(0x80 | 126);
            qToBigEndian<quint16>(quint16(text.size()), header + 2);
            headerBytes = 4;
        } else {
            header[1] = char(0x80 | 127);
            qToBigEndian<quint64>(quint64(text.size()), header + 2);
            headerBytes = 10;
        }
        std::memset(header + headerBytes, 0, 4);
        m_socket.write(header, headerBytes + 4);
        m_socket.write(text);
    }

private:
    void readAvailable()
    {
        m_buffer.append(m_socket.readAll());
        qsizetype offset = 0;
        if (!m_upgraded) {
            const qsizetype end = m_buffer.indexOf("\r\n\r\n");
            if (end < 0)
                return;
            m_upgraded = m_buffer.startsWith("HTTP/1.1 101");
            offset = end + 4;
        }
        for (;;) {
            const auto* head = reinterpret_cast<const uchar*>(m_buffer.constData()) + offset;
            const qsizetype available = m_buffer.size() - offset;
            if (available < 2)
                break;
            qsizetype headerBytes = 2;
            quint64 length = head[1] & 0x7F;
            if (length == 126) {
                if (available < 4)
                    break;
                length = qFromBigEndian<quint16>(head + 2);
                headerBytes = 4;
            } else if (length == 127) {
                if (available < 10)
                    break;
                length = qFromBigEndian<quint64>(head + 2);
                headerBytes = 10;
            }
            if (quint64(available - headerBytes) < length)
                break;
            if ((head[0] & 0x0F) == 0x1 && onText)
                onText(QByteArrayView(m_buffer).sliced(offset + headerBytes, qsizetype(length)));
            offset += headerBytes + qsizetype(length);
        }
        m_buffer.remove(0, offset);
    }

    QTcpSocket m_socket;
    QByteArray m_buffer;
    bool m_upgraded = false;
};

// A pub/sub system under test: subscribers and one writer, driven by the same loop.
class System {
public:
    virtual ~System() = default;
    virtual const char* name() const = 0;
    virtual bool start(int subscribers) = 0;
    virtual void publish(quint64 seq) = 0;
    std::function<void(quint64 seq)> delivered; // once per subscriber per received value
    std::function<void()> acknowledged; // once per write the server confirmed
};

// --- Commy ---------------------------------------------------------------------------------------

class CommySystem : public System {
public:
    const char* name() const override { return "commy"; }
    ~CommySystem() override
    {
        m_sockets.clear();
        if (m_server.state() != QProcess::NotRunning) {
            m_server.terminate();
            m_server.waitForFinished(10000);
        }
    }

    bool start(int subscribers) override
    {
        const QString key = QStringLiteral("benchadmin.0123456789abcdefghijklmnop");
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("COMMY_BOOTSTRAP_ADMIN_KEY"), key);
        m_server.setProcessEnvironment(env);
        m_server.setProcessChannelMode(QProcess::SeparateChannels);
        m_server.start(QCoreApplication::applicationDirPath() + QStringLiteral("/commyd"),
            { QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0"), QStringLiteral("--data-dir"), m_dir.path() });
        if (!m_server.waitForStarted(10000))
            return false;
        if (!waitUntil([&] { return m_server.canReadLine(); }))
            return false;
        const QByteArray ready = m_server.readLine().trimmed();
        const quint16 port = quint16(ready.mid(ready.lastIndexOf(':') + 1).toUInt());

        BenchWsClient* admin = connectSocket(port);
        if (!admin || !call(admin, Authenticate { std::nullopt, ApiKeyCredential { key }, std::nullopt }))
            return false;
        // Sessions log in with this token: the key's slow hash is paid once, as a real fleet would.
        m_token = m_lastReply.value(QStringLiteral("token")).toString();
        if (!call(admin, CreateTenant { QStringLiteral("bench") })
            || !call(
                admin, CreateService { QStringLiteral("bench"), QStringLiteral("svc"), std::nullopt, std::nullopt })
            || !call(admin,
                AllocateVariable {
                    QStringLiteral("bench"), QStringLiteral("svc"), QStringLiteral("v"), payloadFor(0) }))
            return false;

        for (int i = 0; i < subscribers; ++i) {
            BenchWsClient* s = connectSocket(port);
            if (!s || !call(s, Authenticate { std::nullopt, TokenCredential { m_token }, std::nullopt })
                || !call(s, Subscribe { QStringLiteral("bench"), QStringLiteral("svc"), std::nullopt }))
                return false;
            s->onText = [this](QByteArrayView text) {
                // Only the value's first bytes (the sequence number) are read, as the Redis side reads
                // only its payload: the servers are measured, not this process's JSON parser, which
                // would otherwise be the bottleneck of a single-threaded client with 100 sessions.
                constexpr QByteArrayView marker = "\"value\":\"";
                const qsizetype at = text.indexOf(marker);
                if (at >= 0 && delivered)
                    delivered(seqOf(QByteArray::fromBase64(text.sliced(at + marker.size(), 24).toByteArray())));
            };
        }
        m_writer = connectSocket(port);
        if (!m_writer || !call(m_writer, Authenticate { std::nullopt, TokenCredential { m_token }, std::nullopt }))
            return false;
        m_writer->onText = [this](QByteArrayView) {
            if (acknowledged)
                acknowledged();
        };
        return true;
    }

    void publish(quint64 seq) override
    {
        m_writer->sendText(encodeRequest(qint64(seq),
            WriteVariable {
                QStringLiteral("bench"), QStringLiteral("svc"), QStringLiteral("v"), payloadFor(seq), std::nullopt }));
    }

private:
    BenchWsClient* connectSocket(quint16 port)
    {
        auto socket = std::make_unique<BenchWsClient>();
        if (!socket->open(port))
            return nullptr;
        m_sockets.push_back(std::move(socket));
        return m_sockets.back().get();
    }

    // Sends one request and waits for its reply (set-up only, before the timed handlers are set).
    bool call(BenchWsClient* socket, const Request& request)
    {
        bool done = false;
        bool ok = false;
        socket->onText = [&](QByteArrayView text) {
            const QJsonObject reply = QJsonDocument::fromJson(text.toByteArray()).object();
            done = true;
            ok = reply.value(QStringLiteral("type")).toString() == QStringLiteral("Result");
            m_lastReply = reply.value(QStringLiteral("data")).toObject();
            if (!ok)
                std::fprintf(stderr, "commy: %s\n", text.toByteArray().constData());
        };
        socket->sendText(encodeRequest(qint64(++m_nextId), request));
        const bool answered = waitUntil([&] { return done; });
        socket->onText = nullptr;
        return answered && ok;
    }

    QTemporaryDir m_dir;
    QProcess m_server;
    std::vector<std::unique_ptr<BenchWsClient>> m_sockets;
    BenchWsClient* m_writer = nullptr;
    QJsonObject m_lastReply;
    QString m_token;
    qint64 m_nextId = 0;
};

// --- Redis ---------------------------------------------------------------------------------------

// Just enough RESP for SUBSCRIBE pushes and the writer's replies.
class RespReader {
public:
    void feed(const QByteArray& bytes) { m_buffer.append(bytes); }
    // The next complete value as a flat list of its bulk strings (an array's items, or one item);
    // nullopt until a whole value has arrived.
    std::optional<std::vector<QByteArray>> next()
    {
        qsizetype pos = 0;
        std::vector<QByteArray> items;
        if (!parse(pos, items))
            return std::nullopt;
        m_buffer.remove(0, pos);
        return items;
    }

private:
    bool line(qsizetype& pos, QByteArray& out)
    {
        const qsizetype end = m_buffer.indexOf("\r\n", pos);
        if (end < 0)
            return false;
        out = m_buffer.mid(pos, end - pos);
        pos = end + 2;
        return true;
    }
    bool parse(qsizetype& pos, std::vector<QByteArray>& items)
    {
        if (pos >= m_buffer.size())
            return false;
        QByteArray header;
        const char kind = m_buffer[pos];
        ++pos;
        if (!line(pos, header))
            return false;
        if (kind == '+' || kind == '-' || kind == ':') {
            items.push_back(header);
            return true;
        }
        if (kind == '$') {
            const qsizetype length = header.toLongLong();
            if (length < 0) {
                items.push_back({});
                return true;
            }
            if (m_buffer.size() < pos + length + 2)
                return false;
            items.push_back(m_buffer.mid(pos, length));
            pos += length + 2;
            return true;
        }
        if (kind == '*') {
            const qsizetype count = header.toLongLong();
            for (qsizetype i = 0; i < count; ++i)
                if (!parse(pos, items))
                    return false;
            return true;
        }
        return false;
    }
    QByteArray m_buffer;
};

QByteArray command(std::initializer_list<QByteArray> parts)
{
    QByteArray out = "*" + QByteArray::number(qsizetype(parts.size())) + "\r\n";
    for (const QByteArray& part : parts)
        out += "$" + QByteArray::number(part.size()) + "\r\n" + part + "\r\n";
    return out;
}

class RedisSystem : public System {
public:
    const char* name() const override { return "redis"; }
    ~RedisSystem() override
    {
        m_sockets.clear();
        if (m_server.state() != QProcess::NotRunning) {
            m_server.terminate();
            m_server.waitForFinished(10000);
        }
    }

    bool start(int subscribers) override
    {
        QTcpServer probe; // a free port for redis-server, which cannot report one it picked
        if (!probe.listen(QHostAddress::LocalHost, 0))
            return false;
        const quint16 port = probe.serverPort();
        probe.close();
        m_server.start(QStringLiteral("redis-server"),
            { QStringLiteral("--port"), QString::number(port), QStringLiteral("--bind"), QStringLiteral("127.0.0.1"),
                QStringLiteral("--save"), QString(), QStringLiteral("--appendonly"), QStringLiteral("no"),
                QStringLiteral("--dir"), m_dir.path() });
        if (!m_server.waitForStarted(10000))
            return false;
        m_writer = connectSocket(port);
        if (!m_writer)
            return false;
        for (int i = 0; i < subscribers; ++i) {
            QTcpSocket* s = connectSocket(port);
            if (!s)
                return false;
            auto reader = std::make_shared<RespReader>();
            int confirmed = 0;
            QObject::connect(s, &QTcpSocket::readyRead, s, [this, s, reader, &confirmed] {
                reader->feed(s->readAll());
                while (auto items = reader->next()) {
                    if (items->size() == 3 && (*items)[0] == "message" && delivered)
                        delivered(seqOf((*items)[2]));
                    else if (!items->empty() && (*items)[0] == "subscribe")
                        ++confirmed;
                }
            });
            s->write(command({ "SUBSCRIBE", "bench" }));
            if (!waitUntil([&] { return confirmed == 1; }))
                return false;
            // `confirmed` lives on this stack frame; later pushes never touch it again.
            QObject::disconnect(s, &QTcpSocket::readyRead, nullptr, nullptr);
            QObject::connect(s, &QTcpSocket::readyRead, s, [this, s, reader] {
                reader->feed(s->readAll());
                while (auto items = reader->next())
                    if (items->size() == 3 && (*items)[0] == "message" && delivered)
                        delivered(seqOf((*items)[2]));
            });
        }
        auto writerReader = std::make_shared<RespReader>();
        QObject::connect(m_writer, &QTcpSocket::readyRead, m_writer, [this, writerReader] {
            writerReader->feed(m_writer->readAll());
            // Two replies per write (SET's +OK, PUBLISH's count): the second completes the write.
            while (auto items = writerReader->next())
                if (++m_replies % 2 == 0 && acknowledged)
                    acknowledged();
        });
        return true;
    }

    void publish(quint64 seq) override
    {
        const QByteArray payload = payloadFor(seq);
        m_writer->write(command({ "SET", "bench:v", payload }) + command({ "PUBLISH", "bench", payload }));
    }

private:
    QTcpSocket* connectSocket(quint16 port)
    {
        // redis-server needs a moment after start to listen: retry until it accepts.
        QElapsedTimer timer;
        timer.start();
        while (timer.elapsed() < 10000) {
            auto socket = std::make_unique<QTcpSocket>();
            socket->connectToHost(QHostAddress::LocalHost, port);
            if (socket->waitForConnected(1000)) {
                socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
                QTcpSocket* raw = socket.get();
                m_sockets.push_back(std::move(socket));
                return raw;
            }
            QCoreApplication::processEvents(QEventLoop::AllEvents, 50);
        }
        return nullptr;
    }

    QTemporaryDir m_dir;
    QProcess m_server;
    std::vector<std::unique_ptr<QTcpSocket>> m_sockets;
    QTcpSocket* m_writer = nullptr;
    qint64 m_replies = 0;
};

// --- Driver --------------------------------------------------------------------------------------

struct Figures {
    double p50Us = 0;
    double p99Us = 0;
    double writesPerSecond = 0;
    double deliveriesPerSecond = 0;
};

std::optional<Figures> measure(System& system, int subscribers, int writes, int seconds)
{
    if (!system.start(subscribers)) {
        std::fprintf(stderr, "%s: set-up failed\n", system.name());
        return std::nullopt;
    }
    Figures figures;

    // Latency: one write at a time.
    std::vector<qint64> latencies;
    latencies.reserve(std::size_t(writes) * std::size_t(subscribers));
    quint64 current = 0;
    qint64 sentAt = 0;
    int got = 0;
    int acks = 0;
    system.delivered = [&](quint64 seq) {
        if (seq == current) {
            latencies.push_back(nowNs() - sentAt);
            ++got;
        }
    };
    system.acknowledged = [&] { ++acks; };
    for (int i = 1; i <= writes + 100; ++i) { // the first 100 warm up
        current = quint64(i);
        got = 0;
        sentAt = nowNs();
        const int acksBefore = acks;
        system.publish(current);
        if (!waitUntil([&] { return got == subscribers && acks > acksBefore; })) {
            std::fprintf(stderr, "%s: write %d not delivered to all subscribers\n", system.name(), i);
            return std::nullopt;
        }
        if (i == 100)
            latencies.clear();
    }
    std::sort(latencies.begin(), latencies.end());
    figures.p50Us = double(latencies[latencies.size() / 2]) / 1000.0;
    figures.p99Us = double(latencies[latencies.size() * 99 / 100]) / 1000.0;

    // Throughput: up to kMaxInFlight writes outstanding for `seconds`.
    quint64 next = 1'000'000;
    qint64 deliveries = 0;
    qint64 acked = 0;
    int inFlight = 0;
    bool running = true;
    system.delivered = [&](quint64) { ++deliveries; };
    system.acknowledged = [&] {
        ++acked;
        --inFlight;
        if (running) {
            system.publish(++next);
            ++inFlight;
        }
    };
    QElapsedTimer timer;
    timer.start();
    for (; inFlight < kMaxInFlight; ++inFlight)
        system.publish(++next);
    waitUntil([&] { return timer.elapsed() >= seconds * 1000; }, seconds * 1000 + 5000);
    const double elapsed = double(timer.nsecsElapsed()) / 1e9;
    figures.writesPerSecond = double(acked) / elapsed;
    figures.deliveriesPerSecond = double(deliveries) / elapsed;
    running = false;
    waitUntil([&] { return inFlight == 0; }, 20000); // drain before the system is torn down
    return figures;
}

} // namespace

int main(int argc, char** argv)
{
    QCoreApplication app(argc, argv);
    QList<int> subscriberCounts { 1, 10, 100 };
    int writes = 2000;
    int seconds = 3;
    const QStringList args = app.arguments();
    for (qsizetype i = 1; i + 1 < args.size(); i += 2) {
        if (args[i] == QStringLiteral("--subscribers")) {
            subscriberCounts.clear();
            for (const QString& n : args[i + 1].split(QLatin1Char(',')))
                subscriberCounts.append(n.toInt());
        } else if (args[i] == QStringLiteral("--writes")) {
            writes = args[i + 1].toInt();
        } else if (args[i] == QStringLiteral("--seconds")) {
            seconds = args[i + 1].toInt();
        }
    }
    std::printf("%-6s %5s %10s %10s %12s %14s\n", "system", "subs", "p50 us", "p99 us", "writes/s", "deliveries/s");
    int failures = 0;
    for (const int subscribers : subscriberCounts) {
        std::optional<Figures> results[2];
        for (int which = 0; which < 2; ++which) {
            std::unique_ptr<System> system;
            if (which == 0)
                system = std::make_unique<CommySystem>();
            else
                system = std::make_unique<RedisSystem>();
            results[which] = measure(*system, subscribers, writes, seconds);
            if (!results[which]) {
                ++failures;
                continue;
            }
            const Figures& f = *results[which];
            std::printf("%-6s %5d %10.1f %10.1f %12.0f %14.0f\n", system->name(), subscribers, f.p50Us, f.p99Us,
                f.writesPerSecond, f.deliveriesPerSecond);
            std::fflush(stdout);
        }
        if (results[0] && results[1])
            std::printf("ratio  %5d %9.2fx %9.2fx %11.2fx %13.2fx   (commy / redis; latency: lower is better)\n",
                subscribers, results[0]->p50Us / results[1]->p50Us, results[0]->p99Us / results[1]->p99Us,
                results[0]->writesPerSecond / results[1]->writesPerSecond,
                results[0]->deliveriesPerSecond / results[1]->deliveriesPerSecond);
    }
    return failures == 0 ? 0 : 1;
}
