#pragma once

// One diff for every model fed by snapshots: brings a model's rows to a snapshot's list with the
// smallest sensible set of row operations (removes, moves, inserts, in-place updates), so views keep
// their selection, scroll position and expanded branches. A row's identity is its key (a name, a slot,
// a peer); a renamed row is removed and inserted.
//
// Hooks supplies the keys and the model's signals:
//   key(const Row&), key(const Item&)   -> comparable, hashable keys
//   Row make(const Item&)
//   bool update(Row&, const Item&)      -> true when the row's own data changed (a tree row may sync its
//                                          children in here: its own position is final by then)
//   beginRemove(first, last) / endRemove(first)         around erasing rows [first, last]
//   beginInsert(first, last) / endInsert(first, last)   around inserting rows [first, last]
//   beginMove(from, to) / endMove(to, from)             around moving row `from` up to `to` (to < from)
//   changed(first, last)                                 rows [first, last] were updated in place

#include <QHash>
#include <QList>
#include <QSet>

#include <algorithm>
#include <type_traits>
#include <vector>

namespace commy::monitor {

template <typename Hooks> void emitChangedRuns(const std::vector<char>& changed, Hooks& hooks)
{
    const int count = int(changed.size());
    for (int first = 0; first < count;) {
        if (!changed[first]) {
            ++first;
            continue;
        }
        int last = first;
        while (last + 1 < count && changed[last + 1])
            ++last;
        hooks.changed(first, last);
        first = last + 1;
    }
}

// Items with a key that appeared earlier in `target` are ignored: keys are unique in the model.
template <typename Row, typename Item, typename Hooks>
void syncRows(std::vector<Row>& rows, const QList<Item>& target, Hooks& hooks)
{
    using Key = std::decay_t<decltype(hooks.key(target.front()))>;

    // The routine update: the same keys in the same order. No hashing, only in-place updates.
    bool sameKeys = qsizetype(rows.size()) == target.size();
    for (qsizetype i = 0; sameKeys && i < target.size(); ++i)
        sameKeys = hooks.key(rows[std::size_t(i)]) == hooks.key(target[i]);
    if (sameKeys) {
        std::vector<char> changed(rows.size(), 0);
        for (std::size_t i = 0; i < rows.size(); ++i)
            changed[i] = hooks.update(rows[i], target[qsizetype(i)]) ? 1 : 0;
        emitChangedRuns(changed, hooks);
        return;
    }

    std::vector<const Item*> wanted;
    wanted.reserve(std::size_t(target.size()));
    QSet<Key> wantedKeys;
    wantedKeys.reserve(target.size());
    for (const Item& item : target) {
        const Key key = hooks.key(item);
        if (wantedKeys.contains(key))
            continue;
        wantedKeys.insert(key);
        wanted.push_back(&item);
    }

    // Removals first, in runs, from the end so the indexes of the runs still to go stay valid.
    for (int last = int(rows.size()) - 1; last >= 0;) {
        if (wantedKeys.contains(hooks.key(rows[std::size_t(last)]))) {
            --last;
            continue;
        }
        int first = last;
        while (first > 0 && !wantedKeys.contains(hooks.key(rows[std::size_t(first - 1)])))
            --first;
        hooks.beginRemove(first, last);
        rows.erase(rows.begin() + first, rows.begin() + last + 1);
        hooks.endRemove(first);
        last = first - 1;
    }

    // Every remaining row is wanted. Walk the target: rows before `i` are final.
    QSet<Key> present;
    present.reserve(qsizetype(rows.size()));
    for (const Row& row : rows)
        present.insert(hooks.key(row));
    std::vector<char> changed(wanted.size(), 0);
    for (int i = 0; i < int(wanted.size());) {
        const Item& item = *wanted[std::size_t(i)];
        const Key key = hooks.key(item);
        if (i < int(rows.size()) && hooks.key(rows[std::size_t(i)]) == key) {
            changed[std::size_t(i)] = hooks.update(rows[std::size_t(i)], item) ? 1 : 0;
            ++i;
            continue;
        }
        if (present.contains(key)) {
            // Further down (rows before i hold other keys): move it up.
            int from = i + 1;
            while (hooks.key(rows[std::size_t(from)]) != key)
                ++from;
            hooks.beginMove(from, i);
            std::rotate(rows.begin() + i, rows.begin() + from, rows.begin() + from + 1);
            hooks.endMove(i, from);
            changed[std::size_t(i)] = hooks.update(rows[std::size_t(i)], item) ? 1 : 0;
            ++i;
            continue;
        }
        // A run of new items goes in with one insert.
        int end = i + 1;
        while (end < int(wanted.size()) && !present.contains(hooks.key(*wanted[std::size_t(end)])))
            ++end;
        std::vector<Row> made;
        made.reserve(std::size_t(end - i));
        for (int k = i; k < end; ++k)
            made.push_back(hooks.make(*wanted[std::size_t(k)]));
        hooks.beginInsert(i, end - 1);
        rows.insert(rows.begin() + i, std::make_move_iterator(made.begin()), std::make_move_iterator(made.end()));
        hooks.endInsert(i, end - 1);
        i = end;
    }
    emitChangedRuns(changed, hooks);
}

// The signal half of Hooks for a flat model (rows under the invisible root). The model befriends it:
// the begin/end calls are protected.
template <typename Model> struct TableSignals {
    Model* model;

    void beginRemove(int first, int last) const { model->beginRemoveRows({}, first, last); }
    void endRemove(int) const { model->endRemoveRows(); }
    void beginInsert(int first, int last) const { model->beginInsertRows({}, first, last); }
    void endInsert(int, int) const { model->endInsertRows(); }
    void beginMove(int from, int to) const
    {
        [[maybe_unused]] const bool ok = model->beginMoveRows({}, from, from, {}, to);
        Q_ASSERT(ok);
    }
    void endMove(int, int) const { model->endMoveRows(); }
    void changed(int first, int last) const
    {
        emit model->dataChanged(model->index(first, 0), model->index(last, model->columnCount() - 1));
    }
};

} // namespace commy::monitor
