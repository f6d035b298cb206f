#pragma once

// A QWebSocket client speaking the broker's JSON protocol for tests: call() sends a request with a
// fresh integer id and waits for the frame that answers it; everything received is kept.

#include <QDeadlineTimer>
#include <QJsonDocument>
#include <QJsonObject>
#include <QList>
#include <QSignalSpy>
#include <QSslConfiguration>
#include <QTest>
#include <QWebSocket>

namespace commy::testing {

class JsonWsClient {
public:
    JsonWsClient()
    {
        QObject::connect(&m_socket, &QWebSocket::textMessageReceived, &m_socket,
            [this](const QString& text) { m_received.append(QJsonDocument::fromJson(text.toUtf8()).object()); });
        QObject::connect(&m_socket, &QWebSocket::disconnected, &m_socket, [this] { m_closed = true; });
    }

    bool open(const QUrl& url, const QSslConfiguration* tls = nullptr, int timeoutMs = 10'000)
    {
        if (tls)
            m_socket.setSslConfiguration(*tls);
        QSignalSpy connected(&m_socket, &QWebSocket::connected);
        m_socket.open(url);
        return !connected.isEmpty() || connected.wait(timeoutMs);
    }

    // The reply to {"type": type, "id": n, "data": data}, or an empty object after the timeout.
    QJsonObject call(const QString& type, const QJsonObject& data = {}, int timeoutMs = 20'000)
    {
        const int id = ++m_lastId;
        const QJsonObject request { { QStringLiteral("type"), type }, { QStringLiteral("id"), id },
            { QStringLiteral("data"), data } };
        m_socket.sendTextMessage(QString::fromUtf8(QJsonDocument(request).toJson(QJsonDocument::Compact)));
        return waitForReply(id, timeoutMs);
    }

    QJsonObject waitForReply(int id, int timeoutMs = 20'000)
    {
        const QDeadlineTimer deadline(timeoutMs);
        while (!deadline.hasExpired() && !m_closed) {
            for (const QJsonObject& message : std::as_const(m_received))
                if (message.value(QLatin1String("id")) == QJsonValue(id))
                    return message;
            QTest::qWait(2);
        }
        return {};
    }

    QWebSocket& socket() { return m_socket; }
    bool isClosed() const { return m_closed; }
    const QList<QJsonObject>& received() const { return m_received; }

private:
    QWebSocket m_socket;
    QList<QJsonObject> m_received;
    int m_lastId = 0;
    bool m_closed = false;
};

// "Result" replies' data, or an empty object for anything else.
inline QJsonObject resultData(const QJsonObject& reply)
{
    return reply.value(QLatin1String("type")).toString() == QLatin1String("Result")
        ? reply.value(QLatin1String("data")).toObject()
        : QJsonObject();
}

inline QString errorCode(const QJsonObject& reply)
{
    return reply.value(QLatin1String("data")).toObject().value(QLatin1String("code")).toString();
}

} // namespace commy::testing
