#include "tls_files.h"

#include <QFile>
#include <QSslCertificate>
#include <QSslKey>
#include <QSslSocket>

namespace commy::broker {

namespace {

Expected<QByteArray, QString> readFile(const QString& path, const char* what)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return unexpected(
            QStringLiteral("cannot read TLS %1 %2: %3").arg(QLatin1String(what), path, file.errorString()));
    return file.readAll();
}

} // namespace

Expected<QSslConfiguration, QString> loadTlsConfiguration(const QString& certificateFile, const QString& keyFile)
{
    if (!QSslSocket::supportsSsl())
        return unexpected(QStringLiteral("TLS is not available: no SSL backend could be loaded"));

    const auto certificatePem = readFile(certificateFile, "certificate");
    if (!certificatePem)
        return unexpected(certificatePem.error());
    const QList<QSslCertificate> chain = QSslCertificate::fromData(*certificatePem, QSsl::Pem);
    if (chain.isEmpty() || chain.first().isNull())
        return unexpected(QStringLiteral("TLS certificate %1 holds no PEM certificate").arg(certificateFile));

    const auto keyPem = readFile(keyFile, "key");
    if (!keyPem)
        return unexpected(keyPem.error());
    // A PEM block does not always say its algorithm ("BEGIN PRIVATE KEY"), so try the ones we accept.
    QSslKey key;
    for (const QSsl::KeyAlgorithm algorithm : { QSsl::Rsa, QSsl::Ec }) {
        key = QSslKey(*keyPem, algorithm, QSsl::Pem, QSsl::PrivateKey);
        if (!key.isNull())
            break;
    }
    if (key.isNull())
        return unexpected(QStringLiteral("TLS key %1 holds no unencrypted PEM private key (RSA or EC)").arg(keyFile));

    QSslConfiguration configuration = QSslConfiguration::defaultConfiguration();
    configuration.setLocalCertificateChain(chain);
    configuration.setPrivateKey(key);
    configuration.setPeerVerifyMode(QSslSocket::VerifyNone); // clients authenticate with keys, not certificates
    configuration.setProtocol(QSsl::TlsV1_2OrLater);
    return configuration;
}

} // namespace commy::broker
