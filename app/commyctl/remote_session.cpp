#include "remote_session.h"

#include <commy/protocol/error_code.h>

#include <QEventLoop>
#include <QFile>
#include <QTimer>

namespace commy::ctl {

using client::BrokerClient;

QString describe(const protocol::Error& error)
{
    QString text = protocol::errorCodeName(error.code) + QStringLiteral(": ") + error.message;
    if (error.retryAfter)
        text += QStringLiteral(" (retry after %1 s)").arg(*error.retryAfter);
    return text;
}

RemoteSession::RemoteSession(BrokerClient::Options options)
    : m_client(std::move(options))
{
}

Expected<std::unique_ptr<RemoteSession>, QString> RemoteSession::open(const RemoteOptions& options)
{
    BrokerClient::Options clientOptions;
    clientOptions.autoReconnect = false; // a one-shot command reports a lost connection instead
    clientOptions.ignoreSslErrors = options.insecure;
    clientOptions.requestTimeout = std::chrono::milliseconds(options.timeoutMs);
    clientOptions.connectTimeout = std::chrono::milliseconds(options.timeoutMs);
    if (!options.caCertificateFile.isEmpty()) {
        QFile file(options.caCertificateFile);
        if (!file.open(QIODevice::ReadOnly))
            return unexpected(QStringLiteral("cannot read %1").arg(options.caCertificateFile));
        clientOptions.caCertificates = QSslCertificate::fromData(file.readAll(), QSsl::Pem);
        if (clientOptions.caCertificates.isEmpty())
            return unexpected(QStringLiteral("no PEM certificate in %1").arg(options.caCertificateFile));
    }
    std::unique_ptr<RemoteSession> session(new RemoteSession(std::move(clientOptions)));
    BrokerClient& client = session->m_client;

    QEventLoop loop;
    QString failure;
    QObject::connect(&client, &BrokerClient::connected, &loop, &QEventLoop::quit);
    QObject::connect(&client, &BrokerClient::errorOccurred, &loop, [&](const QString& message) {
        failure = message;
        loop.quit();
    });
    client.open(options.url);
    if (client.state() == BrokerClient::State::Disconnected && !client.errorString().isEmpty())
        return unexpected(QStringLiteral("cannot connect to %1: %2").arg(options.url.toString(), client.errorString()));
    loop.exec();
    if (client.state() != BrokerClient::State::Connected)
        return unexpected(QStringLiteral("cannot connect to %1: %2")
                              .arg(options.url.toString(), failure.isEmpty() ? client.errorString() : failure));

    auto reply = session->call(protocol::Authenticate {
        options.keyTenant, protocol::ApiKeyCredential { options.key }, QStringLiteral("commyctl") });
    if (!reply)
        return unexpected(QStringLiteral("authentication failed: %1").arg(describe(reply.error())));
    return session;
}

BrokerClient::Reply RemoteSession::call(protocol::Request request)
{
    std::optional<BrokerClient::Reply> result;
    QEventLoop loop;
    m_client.send(std::move(request), [&](const BrokerClient::Reply& reply) {
        result = reply;
        loop.quit();
    });
    if (!result)
        loop.exec();
    return *result;
}

} // namespace commy::ctl
