#pragma once

// A self-signed certificate for 127.0.0.1 and localhost, made at test time with the openssl command
// (keys are never committed). The files live in the given folder.

#include <QDir>
#include <QFile>
#include <QProcess>
#include <QSslCertificate>
#include <QString>

namespace commy::testing {

struct TestCertificate {
    QString certificateFile;
    QString keyFile;
    QString error; // empty on success

    bool isValid() const { return error.isEmpty(); }
    QSslCertificate certificate() const
    {
        QFile file(certificateFile);
        return file.open(QIODevice::ReadOnly) ? QSslCertificate(file.readAll(), QSsl::Pem) : QSslCertificate();
    }
};

inline TestCertificate makeTestCertificate(const QString& folder)
{
    TestCertificate result;
    result.certificateFile = QDir(folder).filePath(QStringLiteral("cert.pem"));
    result.keyFile = QDir(folder).filePath(QStringLiteral("key.pem"));
    QProcess openssl;
    openssl.start(QStringLiteral("openssl"),
        { QStringLiteral("req"), QStringLiteral("-x509"), QStringLiteral("-newkey"), QStringLiteral("ec"),
            QStringLiteral("-pkeyopt"), QStringLiteral("ec_paramgen_curve:prime256v1"), QStringLiteral("-nodes"),
            QStringLiteral("-days"), QStringLiteral("2"), QStringLiteral("-subj"), QStringLiteral("/CN=127.0.0.1"),
            QStringLiteral("-addext"), QStringLiteral("subjectAltName=IP:127.0.0.1,DNS:localhost"),
            QStringLiteral("-keyout"), result.keyFile, QStringLiteral("-out"), result.certificateFile });
    if (!openssl.waitForStarted(10'000)) {
        result.error = QStringLiteral("cannot run openssl: %1").arg(openssl.errorString());
        return result;
    }
    if (!openssl.waitForFinished(30'000) || openssl.exitStatus() != QProcess::NormalExit || openssl.exitCode() != 0)
        result.error = QStringLiteral("openssl failed: %1").arg(QString::fromLocal8Bit(openssl.readAllStandardError()));
    return result;
}

} // namespace commy::testing
