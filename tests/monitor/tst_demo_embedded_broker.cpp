// EmbeddedBroker: the demo's in-process broker listens on 127.0.0.1 only, its admin key authenticates
// with server_admin over the real protocol, a wrong key is refused, two run side by side, and
// destroying one closes its port and removes its temporary directory.

#include <monitor/demo/embedded_broker.h>

#include "demo_test_support.h"

#include <QDir>
#include <QFileInfo>
#include <QHostAddress>
#include <QTcpSocket>
#include <QtTest>

#include <algorithm>
#include <memory>

using namespace commy::monitor;
using namespace commy::monitor::test;
using commy::client::BrokerClient;
namespace protocol = commy::protocol;

class TestDemoEmbeddedBroker : public QObject {
    Q_OBJECT

private slots:
    void listensOnLoopbackWithAFreePort()
    {
        EmbeddedBroker broker;
        QVERIFY(!broker.isRunning());
        QVERIFY(broker.url().isEmpty());
        QVERIFY2(broker.start(), qPrintable(broker.errorString()));
        QVERIFY(broker.isRunning());
        QCOMPARE(broker.url().scheme(), QStringLiteral("ws"));
        QCOMPARE(broker.url().host(), QStringLiteral("127.0.0.1"));
        QVERIFY(broker.url().port() > 0);
        QVERIFY(!broker.adminKey().isEmpty());
        QVERIFY(broker.adminKey().contains(QLatin1Char('.')));
        QVERIFY(QFileInfo(broker.dataDir()).isDir());
        QVERIFY(broker.errorString().isEmpty());
        // start() again is harmless and changes nothing.
        const QUrl url = broker.url();
        QVERIFY(broker.start());
        QCOMPARE(broker.url(), url);
    }

    void adminKeyAuthenticatesAsServerAdmin()
    {
        EmbeddedBroker broker;
        QVERIFY2(broker.start(), qPrintable(broker.errorString()));
        BrokerClient client(clientOptions());
        client.open(broker.url());
        auto authenticated = call(client,
            protocol::Authenticate {
                std::nullopt, protocol::ApiKeyCredential { broker.adminKey() }, QStringLiteral("tst_demo") });
        QVERIFY2(authenticated, qPrintable(failureOf(authenticated)));
        const auto& scopes = authenticated->scopes;
        QVERIFY(std::find(scopes.begin(), scopes.end(), protocol::Scope::ServerAdmin) != scopes.end());
        // The demo's sessions must not expire while someone watches it.
        QVERIFY(authenticated->expiresIn >= 24 * 60 * 60);

        auto info = call(client, protocol::GetBrokerInfo {});
        QVERIFY2(info, qPrintable(failureOf(info)));
        QCOMPARE(info->tenants, 0);
        QVERIFY(info->sessions >= 1);
    }

    void wrongKeyIsRefused()
    {
        EmbeddedBroker broker;
        QVERIFY2(broker.start(), qPrintable(broker.errorString()));
        BrokerClient client(clientOptions());
        const QString keyId = broker.adminKey().section(QLatin1Char('.'), 0, 0);
        const QString error = connectAsAdmin(client, broker.url(), keyId + QStringLiteral(".wrongsecret0123456789"));
        QVERIFY(error.startsWith(QStringLiteral("UNAUTHORIZED")));
    }

    void twoBrokersAreIndependent()
    {
        EmbeddedBroker first;
        EmbeddedBroker second;
        QVERIFY2(first.start(), qPrintable(first.errorString()));
        QVERIFY2(second.start(), qPrintable(second.errorString()));
        QVERIFY(first.url() != second.url());
        QVERIFY(first.dataDir() != second.dataDir());
        QVERIFY(first.adminKey() != second.adminKey());
        BrokerClient client(clientOptions());
        QVERIFY(!connectAsAdmin(client, first.url(), second.adminKey()).isEmpty());
    }

    void destroyingClosesThePortAndRemovesTheDirectory()
    {
        auto broker = std::make_unique<EmbeddedBroker>();
        QVERIFY2(broker->start(), qPrintable(broker->errorString()));
        const QString dataDir = broker->dataDir();
        const QString temporaryDir = QFileInfo(dataDir).absolutePath();
        const quint16 port = quint16(broker->url().port());
        QVERIFY(temporaryDir.startsWith(QDir::tempPath()));

        // A connected client and a service with a region file: the teardown has something to close.
        BrokerClient client(clientOptions());
        QCOMPARE(connectAsAdmin(client, broker->url(), broker->adminKey()), QString());
        QVERIFY(call(client, protocol::CreateTenant { QStringLiteral("acme") }));
        QVERIFY(call(client, protocol::CreateService { QStringLiteral("acme"), QStringLiteral("line"), {}, {} }));
        QVERIFY(QFileInfo(temporaryDir).isDir());

        QSignalSpy disconnected(&client, &BrokerClient::disconnected);
        broker.reset();
        QVERIFY(!QFileInfo::exists(dataDir));
        QVERIFY(!QFileInfo::exists(temporaryDir));
        QVERIFY(disconnected.count() > 0 || disconnected.wait(kWaitMs));
        client.close();

        QTcpSocket socket;
        socket.connectToHost(QHostAddress(QHostAddress::LocalHost), port);
        QVERIFY(!socket.waitForConnected(kWaitMs));
        QCOMPARE(socket.error(), QAbstractSocket::ConnectionRefusedError);
    }

    void stopThenStartAgainUsesAFreshDirectory()
    {
        EmbeddedBroker broker;
        QVERIFY2(broker.start(), qPrintable(broker.errorString()));
        const QString firstDir = broker.dataDir();
        broker.stop();
        QVERIFY(!broker.isRunning());
        QVERIFY(broker.url().isEmpty());
        QVERIFY(!QFileInfo::exists(firstDir));
        QVERIFY2(broker.start(), qPrintable(broker.errorString()));
        QVERIFY(broker.dataDir() != firstDir);
        BrokerClient client(clientOptions());
        QCOMPARE(connectAsAdmin(client, broker.url(), broker.adminKey()), QString());
    }
};

QTEST_GUILESS_MAIN(TestDemoEmbeddedBroker)
#include "tst_demo_embedded_broker.moc"
