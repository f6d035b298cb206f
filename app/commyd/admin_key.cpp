#include "admin_key.h"

#include "daemon_log.h"

#include <QDir>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace commy::commyd {

namespace {

QString systemError() { return QString::fromLocal8Bit(strerror(errno)); }

QString keyIdOf(const QString& key) { return key.section(u'.', 0, 0); }

} // namespace

Expected<void, QString> writePrivateFile(const QString& path, const QByteArray& content)
{
    const QByteArray target = QFile::encodeName(path);
    const QByteArray temporary = target + ".tmp";
    const int fd = ::open(temporary.constData(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return unexpected(QStringLiteral("cannot create %1: %2").arg(QFile::decodeName(temporary), systemError()));
    // An existing file keeps its old mode through O_TRUNC: set it.
    bool ok = ::fchmod(fd, 0600) == 0;
    for (qsizetype done = 0; ok && done < content.size();) {
        const ssize_t written = ::write(fd, content.constData() + done, size_t(content.size() - done));
        if (written < 0 && errno == EINTR)
            continue;
        ok = written > 0;
        done += written > 0 ? written : 0;
    }
    ok = ok && ::fsync(fd) == 0;
    const QString error = ok ? QString() : systemError();
    ::close(fd);
    if (ok && ::rename(temporary.constData(), target.constData()) == 0)
        return {};
    const QString reason = ok ? systemError() : error;
    ::unlink(temporary.constData());
    return unexpected(QStringLiteral("cannot write %1: %2").arg(path, reason));
}

Expected<void, QString> bootstrapAdminKey(broker::Broker& broker, const QString& presetKey)
{
    const auto created = broker.bootstrapAdminKey(presetKey);
    if (!created)
        return unexpected(created.error());
    if (!*created) {
        if (!presetKey.isEmpty())
            qCInfo(lcCommyd, "a server admin key exists already; COMMY_BOOTSTRAP_ADMIN_KEY is not used");
        return {};
    }
    const QString& key = **created;
    if (!presetKey.isEmpty()) {
        qCInfo(lcCommyd, "created the server admin key %s from COMMY_BOOTSTRAP_ADMIN_KEY", qPrintable(keyIdOf(key)));
        return {};
    }
    const QString path = QDir(broker.dataDir()).filePath(QStringLiteral("admin.key"));
    const auto written = writePrivateFile(path, key.toUtf8() + '\n');
    if (!written) {
        // Nobody could use the key: revoke it, so the next start bootstraps again.
        (void)broker.store().revokeKey(std::nullopt, keyIdOf(key));
        return unexpected(written.error());
    }
    qCInfo(lcCommyd, "generated the server admin key %s; it is in %s (mode 0600)", qPrintable(keyIdOf(key)),
        qPrintable(path));
    return {};
}

} // namespace commy::commyd
