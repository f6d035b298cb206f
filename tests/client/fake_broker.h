#pragma once

// A scripted stand-in for commyd, for BrokerClient's tests: a QWebSocketServer on 127.0.0.1 (ws or
// wss) that decodes requests with the real codec, records them, and answers like a tiny broker
// (API-key, password and token authentication, subscriptions, variables with versions and pushes
// with a per-connection seq). A test takes over any request with `intercept`.

#include <commy/protocol/codec.h>

#include <QList>
#include <QMap>
#include <QSet>
#include <QSslConfiguration>
#include <QUrl>
#include <QWebSocket>
#include <QWebSocketServer>

#include <functional>
#include <memory>
#include <optional>

class FakeBroker {
public:
    // With a TLS configuration (certificate + key) the server speaks wss.
    explicit FakeBroker(std::optional<QSslConfiguration> tls = std::nullopt);
    ~FakeBroker();

    bool listen(quint16 port = 0);
    void stopListening();
    QUrl url() const;
    quint16 port() const { return m_port; }

    // Closes every connection from the server's side (graceful close frame, or TCP abort).
    void dropAll(bool abort = false);
    QList<QWebSocket*> sockets() const { return m_sockets; }

    void reply(QWebSocket* socket, const commy::protocol::RequestId& id, const commy::protocol::ResultData& result);
    void replyError(QWebSocket* socket, const commy::protocol::RequestId& id, commy::protocol::ErrorCode code,
        const QString& message, std::optional<qint64> retryAfter = std::nullopt);
    void sendRaw(QWebSocket* socket, const QByteArray& frame);
    // A push with an explicit seq (and coalesced flag) to one connection.
    void push(QWebSocket* socket, const commy::protocol::VariableChanged& change);
    // Stores a new value (version + 1) without telling anyone, as if updates were lost.
    qint64 store(const QString& tenant, const QString& service, const QString& variable, const QByteArray& value);
    // Stores and pushes to every connection subscribed to the service, with its next seq.
    void publish(const QString& tenant, const QString& service, const QString& variable, const QByteArray& value);

    // Every request received, in order; and how many of one wire type.
    QList<commy::protocol::RequestFrame> received;
    int countOf(const QString& type) const;
    QList<commy::protocol::RequestFrame> ofType(const QString& type) const;
    int accepted = 0; // connections accepted so far

    // Return true to take over a request (no default answer).
    std::function<bool(QWebSocket*, const commy::protocol::RequestFrame&)> intercept;

    QString validKey = QStringLiteral("key-1");
    QString validUser = QStringLiteral("ann");
    QString validPassword = QStringLiteral("secret-pw");
    qint64 tokenLifetime = 3600;
    QSet<QString> validTokens;
    QString lastToken;

private:
    struct Variable {
        QByteArray value;
        qint64 version = 0;
    };
    void onConnection();
    void onRequest(QWebSocket* socket, const QString& text);
    void answer(QWebSocket* socket, const commy::protocol::RequestFrame& frame);

    std::unique_ptr<QWebSocketServer> m_server;
    quint16 m_port = 0;
    bool m_secure = false;
    QList<QWebSocket*> m_sockets;
    QMap<QString, Variable> m_variables; // "tenant/service/variable"
    QMap<QWebSocket*, QSet<QString>> m_subscriptions; // socket -> "tenant/service"
    QMap<QWebSocket*, qint64> m_seq;
    int m_tokensIssued = 0;
};
