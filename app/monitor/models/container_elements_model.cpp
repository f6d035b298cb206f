#include "container_elements_model.h"

#include "roles.h"

#include <QPointer>

#include <algorithm>

namespace commy::monitor {

ContainerElementsModel::ContainerElementsModel(QObject* parent)
    : QAbstractTableModel(parent)
{
    // Stale rows are asked for from data(), which must not call out or change the model: their reads
    // start on the next turn of the event loop, all of a paint's worth at once.
    m_requestTimer.setSingleShot(true);
    m_requestTimer.setInterval(0);
    connect(&m_requestTimer, &QTimer::timeout, this, &ContainerElementsModel::requestWanted);
}

ContainerElementsModel::~ContainerElementsModel() = default;

void ContainerElementsModel::setSource(Fetcher fetcher, quint64 length, quint64 version)
{
    beginResetModel();
    m_fetcher = std::move(fetcher);
    const bool lengthMoved = m_length != length;
    const bool versionMoved = m_version != version;
    m_length = length;
    m_version = version;
    resetRows();
    endResetModel();
    if (lengthMoved)
        emit lengthChanged();
    if (versionMoved)
        emit versionChanged();
}

void ContainerElementsModel::clear() { setSource({}, 0, 0); }

void ContainerElementsModel::setVersion(quint64 version, quint64 length)
{
    if (version < m_version)
        return;
    const bool versionMoved = version > m_version;
    const bool wasComplete = m_rows.size() == m_length;
    if (versionMoved) {
        m_version = version;
        m_failed.clear();
        emit versionChanged();
    }
    setLength(length);
    if (versionMoved && !m_rows.empty()) {
        // Views ask again for what they show, and data() turns that into reads of those pages only.
        emit dataChanged(index(0, 0), index(rowCount() - 1, ColumnCount - 1), { StaleRole });
    }
    if (wasComplete && m_fetcher && m_rows.size() < m_length) {
        m_tailWanted = true;
        m_requestTimer.start();
    }
}

quint64 ContainerElementsModel::length() const { return m_length; }

quint64 ContainerElementsModel::version() const { return m_version; }

int ContainerElementsModel::pageSize() const { return m_pageSize; }

void ContainerElementsModel::setPageSize(int rows)
{
    rows = std::max(rows, 1);
    if (rows == m_pageSize)
        return;
    beginResetModel();
    m_pageSize = rows;
    resetRows();
    endResetModel();
    emit pageSizeChanged();
}

bool ContainerElementsModel::isLoading() const { return !m_inFlight.isEmpty(); }

QString ContainerElementsModel::errorString() const { return m_errorString; }

int ContainerElementsModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int ContainerElementsModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant ContainerElementsModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Row& row = m_rows[std::size_t(index.row())];
    if (isStale(row))
        const_cast<ContainerElementsModel*>(this)->want(quint64(index.row()) / quint64(m_pageSize));
    const ElementSnapshot& element = row.element;
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case IndexColumn:
            return QString::number(element.index);
        case KeyColumn:
            return element.hasKey ? element.key : QString();
        case ValueColumn:
            return element.value;
        }
        return {};
    case Qt::TextAlignmentRole:
        return index.column() == IndexColumn ? QVariant(Qt::AlignRight | Qt::AlignVCenter) : QVariant();
    case IndexRole:
        return element.index;
    case HasKeyRole:
        return element.hasKey;
    case KeyRole:
        return element.key;
    case ValueRole:
        return element.value;
    case StaleRole:
        return isStale(row);
    }
    return {};
}

QVariant ContainerElementsModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case IndexColumn:
        return tr("#");
    case KeyColumn:
        return tr("Key");
    case ValueColumn:
        return tr("Value");
    }
    return {};
}

QHash<int, QByteArray> ContainerElementsModel::roleNames() const
{
    return commy::monitor::roleNames({ IndexRole, HasKeyRole, KeyRole, ValueRole, StaleRole });
}

bool ContainerElementsModel::canFetchMore(const QModelIndex& parent) const
{
    return !parent.isValid() && m_fetcher && m_rows.size() < m_length;
}

void ContainerElementsModel::fetchMore(const QModelIndex& parent)
{
    if (!canFetchMore(parent))
        return;
    const quint64 offset = m_rows.size();
    const quint64 page = offset / quint64(m_pageSize);
    if (m_inFlight.contains(page))
        return;
    m_failed.remove(page); // asked for explicitly (a scroll): worth another try
    request(offset, (page + 1) * quint64(m_pageSize) - offset);
}

void ContainerElementsModel::resetRows()
{
    ++m_generation;
    m_rows.clear();
    const bool wasLoading = isLoading();
    m_inFlight.clear();
    m_failed.clear();
    m_wanted.clear();
    m_tailWanted = false;
    m_requestTimer.stop();
    if (wasLoading)
        emit loadingChanged();
}

void ContainerElementsModel::want(quint64 page)
{
    if (m_inFlight.contains(page) || m_failed.contains(page) || m_wanted.contains(page))
        return;
    m_wanted.insert(page);
    m_requestTimer.start();
}

void ContainerElementsModel::requestWanted()
{
    QList<quint64> pages = m_wanted.values();
    m_wanted.clear();
    std::sort(pages.begin(), pages.end());
    const quint64 pageSize = quint64(m_pageSize);
    for (const quint64 page : pages) {
        const quint64 first = page * pageSize;
        if (!m_fetcher || first >= m_rows.size() || m_inFlight.contains(page) || m_failed.contains(page))
            continue;
        const quint64 end = std::min<quint64>(first + pageSize, m_rows.size());
        const bool stale = std::any_of(m_rows.begin() + qsizetype(first), m_rows.begin() + qsizetype(end),
            [this](const Row& row) { return isStale(row); });
        if (stale)
            request(first, pageSize);
    }
    if (m_tailWanted) {
        m_tailWanted = false;
        fetchMore({});
    }
}

void ContainerElementsModel::request(quint64 offset, quint64 limit)
{
    const quint64 pageSize = quint64(m_pageSize);
    const bool wasLoading = isLoading();
    for (quint64 page = offset / pageSize; page <= (offset + limit - 1) / pageSize; ++page)
        m_inFlight.insert(page);
    if (!wasLoading)
        emit loadingChanged();
    QPointer<ContainerElementsModel> self(this);
    const quint64 generation = m_generation;
    m_fetcher(offset, limit, [self, generation, offset, limit](const ElementPage& page) {
        if (self)
            self->receive(generation, offset, limit, page);
    });
}

void ContainerElementsModel::receive(quint64 generation, quint64 offset, quint64 limit, const ElementPage& page)
{
    if (generation != m_generation)
        return;
    const quint64 pageSize = quint64(m_pageSize);
    const quint64 firstPage = offset / pageSize;
    const quint64 lastPage = (offset + limit - 1) / pageSize;
    for (quint64 p = firstPage; p <= lastPage; ++p)
        m_inFlight.remove(p);
    const bool loadingEnded = !isLoading();

    if (!page.error.isEmpty()) {
        for (quint64 p = firstPage; p <= lastPage; ++p)
            m_failed.insert(p);
        m_errorString = page.error;
        if (loadingEnded)
            emit loadingChanged();
        emit errorOccurred(m_errorString);
        return;
    }

    // The read may be newer than the last change we heard of: it is the better news.
    if (page.version > m_version) {
        m_version = page.version;
        m_failed.clear();
        emit versionChanged();
        if (!m_rows.empty())
            emit dataChanged(index(0, 0), index(rowCount() - 1, ColumnCount - 1), { StaleRole });
    }
    if (page.version == m_version)
        setLength(page.length);

    const quint64 start = page.offset;
    const quint64 available = m_length > start ? m_length - start : 0;
    const quint64 count = std::min<quint64>(quint64(page.elements.size()), available);
    const quint64 loaded = m_rows.size();

    // Rows already there are replaced in place; a dataChanged per run of rows that really changed.
    const quint64 overlapEnd = std::min(start + count, loaded);
    for (quint64 row = start; row < overlapEnd;) {
        const auto differs = [&](quint64 r) {
            const Row& old = m_rows[std::size_t(r)];
            return !(old.element == page.elements[qsizetype(r - start)]) || old.version != page.version;
        };
        if (!differs(row)) {
            ++row;
            continue;
        }
        quint64 last = row;
        while (last + 1 < overlapEnd && differs(last + 1))
            ++last;
        for (quint64 r = row; r <= last; ++r)
            m_rows[std::size_t(r)] = Row { page.elements[qsizetype(r - start)], page.version };
        emit dataChanged(index(int(row), 0), index(int(last), ColumnCount - 1));
        row = last + 1;
    }

    // Rows after the loaded ones are appended; a read that leaves a gap brings nothing new.
    if (start <= loaded && start + count > loaded) {
        const quint64 end = start + count;
        beginInsertRows({}, int(loaded), int(end - 1));
        m_rows.reserve(std::size_t(end));
        for (quint64 r = loaded; r < end; ++r)
            m_rows.push_back(Row { page.elements[qsizetype(r - start)], page.version });
        endInsertRows();
    }
    if (loadingEnded)
        emit loadingChanged();
}

void ContainerElementsModel::setLength(quint64 length)
{
    if (length == m_length)
        return;
    if (length < m_rows.size()) {
        beginRemoveRows({}, int(length), int(m_rows.size() - 1));
        m_rows.resize(std::size_t(length));
        endRemoveRows();
    }
    m_length = length;
    emit lengthChanged();
}

} // namespace commy::monitor
