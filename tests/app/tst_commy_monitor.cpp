// commy-monitor as a user runs it: its command line (help, version, usage errors), and --screenshot of
// every view against its embedded demo broker, which must give a PNG that shows something (not one
// flat colour). Each run is a separate process with its own settings and temporary directories.

#include <QImage>
#include <QProcess>
#include <QSet>
#include <QTemporaryDir>
#include <QtTest>

namespace {

QString monitorPath() { return qEnvironmentVariable("COMMY_TEST_BIN_DIR") + QStringLiteral("/commy-monitor"); }

struct Run {
    bool finished = false;
    int exitCode = -1;
    QByteArray out;
    QByteArray err;
};

// Runs commy-monitor to completion with its settings and temporary files inside `home`.
Run runMonitor(const QStringList& arguments, const QString& home, int timeoutMs)
{
    QProcess process;
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.insert(QStringLiteral("XDG_CONFIG_HOME"), home + QStringLiteral("/config"));
    environment.insert(QStringLiteral("TMPDIR"), home);
    environment.insert(QStringLiteral("XDG_RUNTIME_DIR"), home + QStringLiteral("/runtime"));
    // Qt uses a runtime directory only when it is private (0700); otherwise it makes its own in TMPDIR.
    QDir(home).mkpath(QStringLiteral("runtime"));
    QFile::setPermissions(
        home + QStringLiteral("/runtime"), QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner);
    environment.remove(QStringLiteral("COMMY_KEY"));
    process.setProcessEnvironment(environment);
    process.start(monitorPath(), arguments);
    Run run;
    run.finished = process.waitForFinished(timeoutMs);
    if (!run.finished) {
        process.kill();
        process.waitForFinished(5'000);
    }
    run.exitCode = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
    run.out = process.readAllStandardOutput();
    run.err = process.readAllStandardError();
    return run;
}

// Distinct colours in a sample grid of the image: a blank or failed render has one or two.
int distinctColours(const QImage& image)
{
    QSet<QRgb> colours;
    for (int y = 0; y < image.height(); y += 7)
        for (int x = 0; x < image.width(); x += 7)
            colours.insert(image.pixel(x, y));
    return int(colours.size());
}

} // namespace

class TestCommyMonitor : public QObject {
    Q_OBJECT

private slots:
    void init() { QVERIFY(m_home.isValid()); }

    void helpAndVersion()
    {
        const Run help = runMonitor({ QStringLiteral("--help") }, m_home.path(), 30'000);
        QVERIFY(help.finished);
        QCOMPARE(help.exitCode, 0);
        for (const char* option : { "--connect", "--key", "--demo", "--screenshot", "--view", "--timeout" })
            QVERIFY2(help.out.contains(option), option);
        const Run version = runMonitor({ QStringLiteral("--version") }, m_home.path(), 30'000);
        QCOMPARE(version.exitCode, 0);
        QVERIFY(version.out.startsWith("commy-monitor "));
    }

    void usageErrors_data()
    {
        QTest::addColumn<QStringList>("arguments");
        QTest::addColumn<QByteArray>("message");
        QTest::newRow("unknown option") << QStringList { QStringLiteral("--bogus") } << QByteArray("bogus");
        QTest::newRow("connect without key")
            << QStringList { QStringLiteral("--connect"), QStringLiteral("ws://127.0.0.1:1") } << QByteArray("--key");
        QTest::newRow("connect with http") << QStringList { QStringLiteral("--connect"), QStringLiteral("http://x"),
            QStringLiteral("--key"), QStringLiteral("k") }
                                           << QByteArray("ws://");
        QTest::newRow("key without connect")
            << QStringList { QStringLiteral("--key"), QStringLiteral("k") } << QByteArray("--connect");
        QTest::newRow("connect and demo") << QStringList { QStringLiteral("--demo"), QStringLiteral("--connect"),
            QStringLiteral("ws://h:1"), QStringLiteral("--key"), QStringLiteral("k") }
                                          << QByteArray("exclude");
        QTest::newRow("unknown view") << QStringList { QStringLiteral("--view"), QStringLiteral("nope") }
                                      << QByteArray("unknown view");
        QTest::newRow("positional") << QStringList { QStringLiteral("extra") } << QByteArray("unexpected argument");
        QTest::newRow("timeout without screenshot")
            << QStringList { QStringLiteral("--timeout"), QStringLiteral("5") } << QByteArray("--screenshot");
        QTest::newRow("timeout not a number") << QStringList { QStringLiteral("--screenshot"), QStringLiteral("x.png"),
            QStringLiteral("--timeout"), QStringLiteral("soon") }
                                              << QByteArray("seconds");
    }

    void usageErrors()
    {
        QFETCH(QStringList, arguments);
        QFETCH(QByteArray, message);
        const Run run = runMonitor(arguments, m_home.path(), 30'000);
        QVERIFY(run.finished);
        QCOMPARE(run.exitCode, 2);
        QVERIFY2(run.err.contains(message), run.err.constData());
    }

    // A broker that is not there: the screenshot waits for data that never comes and says so.
    void screenshotOfAnUnreachableBrokerFails()
    {
        const QString file = m_home.filePath(QStringLiteral("none.png"));
        // Port 1 on 127.0.0.1 refuses connections.
        const Run run
            = runMonitor({ QStringLiteral("--connect"), QStringLiteral("ws://127.0.0.1:1"), QStringLiteral("--key"),
                             QStringLiteral("k"), QStringLiteral("--screenshot"), file },
                m_home.path(), 120'000);
        QVERIFY(run.finished);
        QCOMPARE(run.exitCode, 1);
        QVERIFY2(run.err.contains("did not load"), run.err.constData());
        QVERIFY(!QFileInfo::exists(file));
    }

    void screenshotOfEachView_data()
    {
        QTest::addColumn<QString>("view");
        for (const char* view : { "overview", "region", "heartbeats", "container", "events" })
            QTest::newRow(view) << QString::fromLatin1(view);
    }

    void screenshotOfEachView()
    {
        QFETCH(QString, view);
        const QString file = m_home.filePath(view + QStringLiteral(".png"));
        const Run run = runMonitor(
            { QStringLiteral("--demo"), QStringLiteral("--screenshot"), file, QStringLiteral("--view"), view },
            m_home.path(), 120'000);
        QVERIFY2(run.finished, "commy-monitor did not finish");
        QVERIFY2(run.exitCode == 0, run.err.constData());
        const QImage image(file);
        QVERIFY2(!image.isNull(), qPrintable(file));
        QVERIFY(image.width() >= 800 && image.height() >= 500);
        const int colours = distinctColours(image);
        QVERIFY2(colours >= 16, qPrintable(QString::number(colours)));
        // The demo's workers and temporary data directory went away with the app.
        const QStringList left = QDir(m_home.path()).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
        const QStringList expected { QStringLiteral("config"), QStringLiteral("runtime") };
        for (const QString& entry : left)
            QVERIFY2(expected.contains(entry), qPrintable(left.join(u',')));
        if (qEnvironmentVariableIsSet("COMMY_SCREENSHOT_DIR"))
            QFile::copy(file, qEnvironmentVariable("COMMY_SCREENSHOT_DIR") + u'/' + view + QStringLiteral(".png"));
    }

private:
    QTemporaryDir m_home;
};

QTEST_GUILESS_MAIN(TestCommyMonitor)
#include "tst_commy_monitor.moc"
