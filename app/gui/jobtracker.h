#pragma once
/// The main window's background jobs, tracked per kind. Each kind has its own generation
/// counter: starting a job of kind K cancels and outdates only the previous job of kind K, so
/// selecting a tensor (a statistics job) never drops a model that is being opened. A result
/// is used only while its (kind, generation) is current.
#include "core/progress.h"

#include <QString>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>

namespace qs::app {

enum class JobKind : uint8_t { Open, Stats, Quantize, Profile };
inline constexpr size_t kJobKinds = 4;

class JobTracker {
public:
    struct Ticket {
        JobKind kind = JobKind::Open;
        uint64_t generation = 0;
        std::shared_ptr<core::Progress> progress; ///< the job's cancel flag and report hook
    };

    /// Starts a job of `kind` described by `label`: the running job of that kind, if any, is
    /// asked to cancel and its result will be stale. Jobs of other kinds are untouched.
    Ticket start(JobKind kind, const QString& label);
    /// True while the job is the newest of its kind and neither finished nor cancelled.
    bool isCurrent(JobKind kind, uint64_t generation) const;
    /// Ends the job if it is current and returns whether it was (its result is then to be used).
    bool finish(JobKind kind, uint64_t generation);
    /// Cancels the running job of `kind` (its result will be dropped).
    void cancel(JobKind kind);
    void cancelAll();

    bool running(JobKind kind) const { return slot(kind).progress != nullptr; }
    bool anyRunning() const;
    /// Records a current job's progress in permille; stale reports are ignored.
    void setProgress(JobKind kind, uint64_t generation, int permille);
    /// Progress in permille of the running job of `kind`; -1 when it reports none.
    int progress(JobKind kind) const { return slot(kind).permille; }
    QString label(JobKind kind) const { return slot(kind).label; }
    /// The running job started last: the one a single progress bar shows.
    std::optional<JobKind> latestRunning() const;

private:
    struct Slot {
        uint64_t generation = 0;
        uint64_t startOrder = 0; ///< when the running job started, across kinds
        std::shared_ptr<core::Progress> progress; ///< null when no job of this kind runs
        QString label;
        int permille = -1;
    };
    Slot& slot(JobKind kind) { return m_slots[size_t(kind)]; }
    const Slot& slot(JobKind kind) const { return m_slots[size_t(kind)]; }

    std::array<Slot, kJobKinds> m_slots;
    uint64_t m_started = 0;
};

} // namespace qs::app
